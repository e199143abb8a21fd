"""Setup > Settings > Users in Chromium: sorting by the column headers, filtering with the
address reflecting it, paging that keeps the filters; a user manager's one clear refusal;
group choices disabled with their reason; a password hint that covers neither the
confirmation field nor the Save button; an error shown by its field."""

import datetime
from urllib.parse import parse_qs, urlsplit

import pytest
from django.utils import timezone

from controlpanel.kit.areas import mask_of
from permissions.models import Rule
from tests.factories import GroupFactory, ResellerFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

NOW = timezone.now()


def query_of(page) -> dict[str, list[str]]:
    return parse_qs(urlsplit(page.url).query)


def listed(page) -> list[str]:
    return page.locator(".users-table__email").all_inner_texts()


def header(page, label: str):
    return page.locator("table.users-table thead th", has=page.locator(f"a:text-is('{label}')"))


def sort_link(page, label: str):
    return page.locator(f"table.users-table thead a.sort:text-is('{label}')")


def follow(page, selector: str) -> None:
    """Click a link or button and wait for the page it leads to."""
    with page.expect_navigation():
        page.click(selector)


def overlaps(a: dict, b: dict) -> bool:
    return not (
        a["x"] + a["width"] <= b["x"]
        or b["x"] + b["width"] <= a["x"]
        or a["y"] + a["height"] <= b["y"]
        or b["y"] + b["height"] <= a["y"]
    )


@pytest.fixture
def people(db):
    """Three users besides Ada, each first by a different column."""
    return [
        UserFactory(email="bo@example.com", name="Zed Zulu", last_login=NOW),
        UserFactory(
            email="cy@example.com", name="Abe Alpha", last_login=NOW - datetime.timedelta(days=3)
        ),
        UserFactory(
            email="zz@example.com", name="Max Mid", last_login=NOW - datetime.timedelta(days=1)
        ),
    ]


def test_sorting_by_each_column_and_back(page, sign_in, admin, people, screenshot):
    sign_in(admin)  # Ada signs in now: the most recent sign-in
    page.goto("/settings/users/")
    assert listed(page) == ["ada@example.com", "bo@example.com", "cy@example.com", "zz@example.com"]
    assert header(page, "E-mail").get_attribute("aria-sort") == "ascending"

    follow(page, "th >> text=Name")
    assert query_of(page)["sort"] == ["name"]
    # name and e-mail share a column: the column is sorted, by the name's link
    assert header(page, "Name").get_attribute("aria-sort") == "ascending"
    assert "sort--ascending" in sort_link(page, "Name").get_attribute("class")
    assert "sort--" not in sort_link(page, "E-mail").get_attribute("class")
    assert header(page, "Last sign-in").get_attribute("aria-sort") is None
    assert listed(page) == ["cy@example.com", "ada@example.com", "zz@example.com", "bo@example.com"]
    follow(page, "th >> text=Name")
    assert query_of(page)["sort"] == ["-name"]
    assert header(page, "Name").get_attribute("aria-sort") == "descending"
    assert listed(page) == ["bo@example.com", "zz@example.com", "ada@example.com", "cy@example.com"]

    follow(page, "th >> text=E-mail")  # ascending is the default: no sort in the address
    assert "sort" not in query_of(page)
    follow(page, "th >> text=E-mail")
    assert query_of(page)["sort"] == ["-email"]
    assert listed(page) == ["zz@example.com", "cy@example.com", "bo@example.com", "ada@example.com"]

    follow(page, "th >> text=Last sign-in")
    assert query_of(page)["sort"] == ["last_login"]
    assert listed(page)[:2] == ["cy@example.com", "zz@example.com"]  # the oldest first
    follow(page, "th >> text=Last sign-in")
    assert query_of(page)["sort"] == ["-last_login"]
    assert header(page, "Last sign-in").get_attribute("aria-sort") == "descending"
    assert listed(page)[-1] == "cy@example.com"
    screenshot("users-sorted-by-last-sign-in")
    follow(page, "th >> text=Last sign-in")
    assert query_of(page)["sort"] == ["last_login"]


def test_filters_are_in_the_address_and_paging_keeps_them(page, sign_in, admin, screenshot):
    night = GroupFactory(name="Night shift")
    globex = ResellerFactory(name="Globex")
    for i in range(28):
        UserFactory(email=f"n{i:02d}@globex.example", groups=[night], reseller=globex)
    UserFactory(email="off@globex.example", groups=[night], reseller=globex, is_active=False)
    UserFactory(email="day@globex.example", reseller=globex)
    sign_in(admin)
    page.goto("/settings/users/?sort=-email")

    page.select_option("#id_role", "user")
    page.select_option("#id_status", "active")
    page.select_option("#id_group", label="Night shift")
    page.select_option("#id_reseller", label="Globex")
    follow(page, "form.users-filters button[type=submit]")
    assert query_of(page) == {
        "role": ["user"],
        "status": ["active"],
        "group": [str(night.pk)],
        "reseller": [str(globex.pk)],
        "sort": ["-email"],
    }
    assert "28 users match the filters" in page.inner_text("#users-count")
    first = listed(page)
    assert first[0] == "n27@globex.example" and len(first) == 25
    assert "off@globex.example" not in first and "day@globex.example" not in first
    screenshot("users-filtered")

    follow(page, "nav.pagination a[rel=next]")
    assert query_of(page)["after"]  # the page after the last row shown
    assert query_of(page)["group"] == [str(night.pk)]
    assert query_of(page)["sort"] == ["-email"]
    assert listed(page) == ["n02@globex.example", "n01@globex.example", "n00@globex.example"]
    assert page.locator("#id_group").input_value() == str(night.pk)
    assert page.locator("#id_status").input_value() == "active"

    # sorting keeps the filters and starts again at the first page
    follow(page, "th >> text=Name")
    assert "page" not in query_of(page) and query_of(page)["reseller"] == [str(globex.pk)]

    # a search keeps them too
    page.fill("#id_q", "n1")
    with page.expect_navigation():
        page.press("#id_q", "Enter")
    assert query_of(page)["q"] == ["n1"] and query_of(page)["sort"] == ["name"]
    assert sorted(listed(page)) == [f"n{i}@globex.example" for i in range(10, 20)]
    assert query_of(page)["status"] == ["active"]

    page.goto(f"/settings/users/?group={night.pk}&status=zombie")
    assert "Status: “zombie” is not a status" in page.inner_text("#filter-errors")
    assert len(listed(page)) == 25  # the group filter still applies
    screenshot("users-filter-not-understood")


def test_a_resellers_user_filters_within_their_reseller_only(
    page, sign_in, reseller, reseller_user
):
    UserFactory(email="rob@acme.example", reseller=reseller)
    UserFactory(email="gus@globex.example", reseller=ResellerFactory(name="Globex"))
    sign_in(reseller_user)
    page.goto("/settings/users/")
    options = page.locator("#id_reseller option").all_inner_texts()
    assert options == ["Any reseller", "Acme Telecom"]
    page.select_option("#id_reseller", label="Acme Telecom")
    follow(page, "form.users-filters button[type=submit]")
    assert listed(page) == ["rita@acme.example", "rob@acme.example"]


def test_a_user_manager_is_told_one_clear_reason_on_an_administrators_edit_page(
    page, sign_in, manager, admin, screenshot
):
    sign_in(manager)
    page.goto("/settings/users/")
    row = page.locator("table.users-table tbody tr", has_text="ada@example.com")
    assert row.locator("a", has_text="Edit").count() == 0

    response = page.goto(f"/settings/users/{admin.pk}/edit/")
    assert response.status == 403
    text = page.inner_text("main")
    assert "Only an administrator can edit, reset, deactivate or delete an administrator." in text
    assert "Missing permission" not in text and "grant it" not in text
    screenshot("user-edit-refused-for-manager")

    page.goto(f"/settings/users/{admin.pk}/")
    assert page.locator("main .callout", has_text="Only an administrator").count() == 1
    assert page.locator("main a", has_text="Edit").count() == 0


def test_groups_beyond_the_editors_reach_are_disabled_with_the_reason(
    page, sign_in, manager, screenshot
):
    billing = GroupFactory(name="Billing admins")
    Rule.objects.create(group=billing, area="billing", actions=mask_of(["create", "delete"]))
    desk = GroupFactory(name="Customer desk")
    Rule.objects.create(group=desk, area="customer", actions=mask_of(["read", "update"]))
    sign_in(manager)
    page.goto("/settings/users/new/")
    refused = page.get_by_label("Billing admins")
    assert refused.is_disabled()
    reason_id = refused.get_attribute("aria-describedby")
    reason = page.locator(f"#{reason_id}")
    assert reason.is_visible()
    assert reason.inner_text() == (
        "Not available to you: it grants create, delete on Billing, which you do not hold."
    )
    assert page.get_by_label("Customer desk").is_enabled()
    page.locator(".groups-choice").scroll_into_view_if_needed()
    screenshot("user-form-groups-beyond-reach")

    page.fill("input[name=email]", "nia@example.com")
    page.check("input[name=role][value=user]")
    page.get_by_label("Customer desk").check()
    page.click("main form button.primary")
    page.wait_for_url("**/settings/users/*/")
    assert page.locator("main .chips", has_text="Customer desk").count() == 1


@pytest.mark.parametrize("where", ["new user", "set password"])
def test_the_password_hint_covers_neither_the_confirmation_nor_the_save_button(
    page, sign_in, admin, staff, screenshot, where
):
    sign_in(admin)
    if where == "new user":
        page.goto("/settings/users/new/")
        first, second = "input[name=password1]", "input[name=password2]"
    else:
        page.goto(f"/settings/users/{staff.pk}/password/")
        first, second = "input[name=new_password1]", "input[name=new_password2]"
    hint = page.locator("#password-requirements")
    assert not hint.is_visible()
    page.focus(first)
    assert hint.is_visible()
    assert "at least 12 characters" in hint.inner_text()
    box = hint.bounding_box()
    for covered in (second, "main form button.primary"):
        target = page.locator(covered).bounding_box()
        assert not overlaps(box, target), f"the hint covers {covered}"
    assert page.get_attribute(first, "aria-describedby").split()[-1] == "password-requirements"
    screenshot(f"password-hint-{where.replace(' ', '-')}")


def test_a_field_error_is_shown_next_to_its_field(page, sign_in, admin, screenshot):
    sign_in(admin)
    page.goto("/settings/users/new/")
    page.fill("input[name=email]", "nia@example.com")
    page.fill("input[name=password1]", "a long enough passphrase")
    page.fill("input[name=password2]", "a different passphrase!!")
    page.check("input[name=role][value=user]")
    page.click("main form button.primary")
    page.wait_for_load_state()

    confirmation = page.locator("input[name=password2]")
    assert confirmation.get_attribute("aria-invalid") == "true"
    error = page.locator("#id_password2_error")
    assert "The two passwords differ" in error.inner_text()
    assert "id_password2_error" in confirmation.get_attribute("aria-describedby").split()
    # right under its input, inside the same field
    field_box = page.locator(".field", has=confirmation).bounding_box()
    input_box, error_box = confirmation.bounding_box(), error.bounding_box()
    assert input_box["y"] + input_box["height"] <= error_box["y"]
    assert error_box["y"] + error_box["height"] <= field_box["y"] + field_box["height"]
    # the summary above only points to it
    page.click("#form-errors a:text('Password (again)')")
    assert page.evaluate("location.hash") == "#id_password2"
    screenshot("user-form-field-error")
