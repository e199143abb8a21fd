"""Issue flows in a real browser: an administrator builds a granular group and a user in
it; that user sees only the allowed areas; passwords; the effective-permission grid."""

import pytest

from accounts.models import User
from permissions.models import Group

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

NEW_PASSWORD = "granular group member 2026"


def add_rule(page, area: str, actions: list[str], effect: str = "allow") -> None:
    """Tick exactly this area and these actions: the form keeps the previous add's."""
    form = page.locator("form.rule-add")
    for box in form.locator("input[name=area]").all():
        box.set_checked(box.get_attribute("value") == area)
    for box in form.locator("input[name=access]").all():
        box.set_checked(box.get_attribute("value") in actions)
    form.locator(f"input[name=effect][value={effect}]").check()
    form.locator("button[type=submit]").click()
    page.wait_for_load_state()


def test_admin_builds_a_granular_group_and_its_member_sees_only_those_areas(
    page, browser, live_server, sign_in, admin, screenshot
):
    sign_in(admin)
    page.goto("/settings/users/")
    screenshot("settings-users")
    page.click("text=+ New group")
    page.fill("input[name=name]", "Billing desk")
    page.click("main form button[type=submit]")
    page.wait_for_url("**/settings/groups/*/")
    add_rule(page, "billing", ["create", "read", "update"])
    add_rule(page, "customer", ["read"])
    add_rule(page, "billing", ["delete"], effect="deny")
    body = page.content()
    assert "/api/cp/billing" in body and "/api/cp/customer" in body
    assert "granular" in body.lower()
    screenshot("group-detail-granular")

    group = Group.objects.get(name="Billing desk")
    page.goto("/settings/users/new/")
    page.fill("input[name=name]", "Greta Granular")
    page.fill("input[name=email]", "greta@example.com")
    page.fill("input[name=password1]", NEW_PASSWORD)
    page.fill("input[name=password2]", NEW_PASSWORD)
    page.check("input[name=role][value=user]")
    page.check(f"input[name=groups][value='{group.pk}']")
    page.fill("input[name=timezone]", "Europe/London")
    screenshot("user-form")
    page.click("main form button.primary")
    page.wait_for_url("**/settings/users/*/")
    greta = User.objects.get(email="greta@example.com")
    assert list(greta.access_groups.all()) == [group]

    member = browser.new_context(base_url=live_server.url).new_page()
    member.goto("/accounts/login/")
    member.fill("input[name=email]", "greta@example.com")
    member.fill("input[name=password]", NEW_PASSWORD)
    member.click("button[type=submit]")
    member.wait_for_url(lambda url: "/accounts/login/" not in url)
    nav = [a.inner_text() for a in member.locator("nav.sidebar a").all()]
    assert "Billing" in nav and "Customers" in nav
    assert "Routing" not in nav and "Users" not in nav and "Carriers" not in nav
    member.screenshot(path="tests/browser/screenshots/member-dashboard.png", full_page=True)
    assert member.goto("/routes/").status == 403
    assert member.goto("/settings/users/").status == 403
    member.context.close()


def test_admin_changes_a_users_password_and_the_user_signs_in_with_it(
    page, browser, live_server, sign_in, admin, staff, screenshot
):
    sign_in(admin)
    page.goto(f"/settings/users/{staff.pk}/")
    page.click("text=Change password")
    page.fill("input[name=new_password1]", NEW_PASSWORD)
    page.fill("input[name=new_password2]", NEW_PASSWORD)
    screenshot("user-password")
    page.click("main form button.primary")
    page.wait_for_url(f"**/settings/users/{staff.pk}/")
    assert "password of sam@example.com was changed" in page.content()

    other = browser.new_context(base_url=live_server.url).new_page()
    other.goto("/accounts/login/")
    other.fill("input[name=email]", staff.email)
    other.fill("input[name=password]", NEW_PASSWORD)
    other.click("button[type=submit]")
    other.wait_for_url(lambda url: "/accounts/login/" not in url)
    assert "Welcome, Sam Staff" in other.content()
    other.context.close()


def test_effective_grid_explains_each_cell(page, sign_in, admin, staff, screenshot):
    sign_in(admin)
    page.goto(f"/settings/users/{staff.pk}/access/")
    body = page.content()
    assert "Network Services Engineers" in body
    assert "✓" in body and "✗" in body
    screenshot("effective-grid")
