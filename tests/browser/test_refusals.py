"""Refusals as people meet them: a manager is refused a rule that grants more than she
holds, and an administrator finds the refusal in the audit log; a signed-in user whose
address changes is signed out on the next page they open, even the public sign-in page."""

import pytest

from accounts.ipwhitelist import parse_whitelist, stored_whitelist
from tests.factories import GroupFactory, UserFactory

from .conftest import SCREENSHOTS

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_refused_rule_is_explained_and_the_administrator_finds_it_in_the_audit_log(
    page, new_page, sign_in, password, manager, admin, screenshot
):
    group = GroupFactory(name="Front desk", defaults=0)
    sign_in(manager)
    page.goto(f"/settings/groups/{group.pk}/")
    form = page.locator("form.rule-add")
    form.locator("input[name=area][value=billing]").check()
    form.locator("input[name=access][value=delete]").check()
    form.locator("input[name=effect][value=allow]").check()
    form.locator("button[type=submit]").click()
    page.wait_for_load_state()
    body = page.content()
    assert "delete on Billing, which you do not hold yourself" in body
    screenshot("refused-rule")

    auditor = new_page()
    auditor.goto("/accounts/login/")
    auditor.fill("input[name=email]", admin.email)
    auditor.fill("input[name=password]", password)
    auditor.click("button[type=submit]")
    auditor.wait_for_url(lambda url: "/accounts/login/" not in url)
    auditor.goto("/settings/audit/?action=refused")
    row = auditor.locator("tbody tr", has_text=manager.email)
    assert row.count() == 1
    assert "delete on Billing" in row.inner_text()
    auditor.screenshot(path=str(SCREENSHOTS / "audit-refused.png"), full_page=True)


def test_a_user_whose_address_changes_is_signed_out_on_the_sign_in_page(
    page, sign_in, password, settings, screenshot
):
    settings.CLIENT_IP_HEADER = "HTTP_X_FORWARDED_FOR"
    settings.TRUSTED_PROXY_COUNT = 1
    settings.TRUSTED_PROXY_NETWORKS = ["127.0.0.1/32", "::1/128"]
    user = UserFactory(
        email="wendy@example.com",
        ip_whitelist=stored_whitelist(parse_whitelist(["203.0.113.0/24"])),
    )
    page.context.set_extra_http_headers({"X-Forwarded-For": "203.0.113.7"})
    sign_in(user)
    page.goto("/accounts/profile/")
    assert page.url.endswith("/accounts/profile/")

    page.context.set_extra_http_headers({"X-Forwarded-For": "198.51.100.1"})  # moved
    answer = page.goto("/accounts/login/")
    assert answer.status == 403
    assert "Your address is not allowed for this account" in page.content()
    screenshot("address-refused")

    page.context.set_extra_http_headers({"X-Forwarded-For": "203.0.113.7"})  # back
    page.goto("/accounts/profile/")
    assert "/accounts/login/" in page.url  # the session ended: sign in again
