"""The users list and the user form at size, in Chromium: an administrator opens the last
page of the users list and goes back, searches, then on the user's edit page filters the
long group list and saves a group chosen from it."""

import pytest

from tests.factories import GroupFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def listed(page) -> list[str]:
    return page.locator(".users-table__email").all_inner_texts()


def follow(page, selector: str) -> None:
    with page.expect_navigation():
        page.click(selector)


def test_last_page_back_search_and_a_group_chosen_from_a_filtered_list(
    page, sign_in, admin, screenshot
):
    teams = [GroupFactory(name=f"Team {i:02d}") for i in range(40)]
    for i in range(60):
        UserFactory(email=f"u{i:02d}@example.com", name=f"User {i:02d}", groups=[teams[i % 3]])
    sign_in(admin)
    page.goto("/settings/users/")
    assert page.inner_text("#users-count") == "61 users"
    assert listed(page)[0] == "ada@example.com"

    follow(page, "nav.pagination a[rel=last]")
    assert listed(page) == [f"u{i:02d}@example.com" for i in range(35, 60)]
    assert page.locator("nav.pagination a[rel=next]").count() == 0
    screenshot("users-last-page")
    follow(page, "nav.pagination a[rel=prev]")
    assert listed(page) == [f"u{i:02d}@example.com" for i in range(10, 35)]
    follow(page, "nav.pagination a[rel=prev]")  # back at the start: a full first page
    assert listed(page)[:2] == ["ada@example.com", "u00@example.com"] and len(listed(page)) == 25
    assert page.locator("nav.pagination a[rel=first]").count() == 0

    page.fill("#id_q", "u42")
    follow(page, "form.users-filters button[type=submit]")
    assert listed(page) == ["u42@example.com"]
    follow(page, "main tbody a:text-is('Edit')")
    assert "/edit/" in page.url

    picker = page.locator("#id_groups_filter")
    assert picker.is_visible()  # revealed by settings.js
    options = page.locator(".group-option")
    assert options.first.inner_text().strip() == "Team 00"  # u42's own group comes first
    picker.fill("team 3")
    visible = page.locator(".group-option:visible")
    assert visible.all_inner_texts() == [f"Team {i}" for i in range(30, 40)]
    assert page.inner_text("[data-group-filter-count]") == "10 of 40 groups"
    screenshot("user-form-groups-filtered")
    picker.press("Enter")  # filters; does not save the form
    assert "/edit/" in page.url
    page.get_by_label("Team 37").check()
    picker.fill("")
    assert page.locator(".group-option:visible").count() == 40
    follow(page, "main form button.primary")
    assert page.url.endswith(f"/settings/users/{_pk(page, 'u42@example.com')}/")
    chips = page.locator("main .chips").inner_text()
    assert "Team 00" in chips and "Team 37" in chips


def _pk(page, email: str) -> int:
    from accounts.models import User

    return User.objects.get(email=email).pk
