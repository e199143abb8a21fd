import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_administrator_signs_in_and_sees_the_dashboard(page, sign_in, admin, screenshot):
    sign_in(admin)
    assert page.locator("h1").inner_text() == "Welcome, Ada Admin"
    assert page.locator(".topbar").inner_text().count("Administrator") == 1
    screenshot("dashboard-admin")


def test_wrong_password_shows_the_generic_message(page, admin, screenshot):
    page.goto("/accounts/login/")
    page.fill("input[name=email]", admin.email)
    page.fill("input[name=password]", "definitely wrong")
    page.click("button[type=submit]")
    assert "Please enter a correct e-mail address and password." in page.content()
    screenshot("login-failed")


def test_limited_user_sees_only_their_areas_on_the_dashboard(page, sign_in, staff, screenshot):
    sign_in(staff)
    rows = page.locator("table.table tbody tr")
    text = {
        r.locator("td").nth(0).inner_text(): r.locator("td").nth(2).inner_text() for r in rows.all()
    }
    assert "create" in text["Routing"] and "delete" in text["Routing"]
    assert text["Carriers"].strip() == "read"
    assert text["Billing"].strip() == "no access"
    screenshot("dashboard-staff")
