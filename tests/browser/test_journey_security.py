"""Journeys for the account hardening (issue 14, item 7), in Chromium: a password typed a
while ago no longer lets a session mint an API token until the person confirms it; an
administrator resets the second factor of a user who lost their phone, who then signs in
with the password alone."""

import time

import pytest
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import expect

from accounts import reauth
from accounts.models import ApiToken

from .axe import assert_accessible_now

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


class LaterClock:
    """The fresh-proof clock only (accounts.reauth), moved on as if the person had left the
    tab open for an hour; sessions, CSRF and every other clock stay real."""

    def __init__(self):
        self.offset = 0

    def time(self):
        return time.time() + self.offset


def test_an_old_sign_in_must_confirm_the_password_before_minting_a_token(
    page, sign_in, staff, password, monkeypatch, screenshot
):
    clock = LaterClock()
    monkeypatch.setattr(reauth, "time", clock)
    sign_in(staff)
    clock.offset = 3600  # an hour later, same tab

    page.goto("/accounts/tokens/")
    expect(page.locator("main")).to_contain_text("making one needs your password")
    page.click("text=Confirm your password to create a token")
    page.wait_for_url("**/accounts/profile/confirm-password/**")
    assert_accessible_now(page)
    screenshot("confirm-password")
    page.fill("input[name=password]", "not my password")
    page.click("main form button[type=submit]")
    expect(page.locator("main")).to_contain_text(reauth.WRONG_PASSWORD)
    page.fill("input[name=password]", password)
    page.click("main form button[type=submit]")
    page.wait_for_url("**/accounts/tokens/")
    page.fill("input[name=name]", "billing export")
    page.click("main form button:has-text('Create token')")
    expect(page.locator("main")).to_contain_text("billing export")
    assert ApiToken.objects.filter(user=staff, name="billing export").count() == 1


def test_an_administrator_resets_a_lost_second_factor_and_the_user_signs_in_without_it(
    page, new_page, sign_in, admin, staff, password, screenshot
):
    # Sam had turned two-factor sign-in on, then lost the phone and the recovery codes.
    TOTPDevice.objects.create(user=staff, name="phone", confirmed=True)
    StaticDevice.objects.create(user=staff, name="backup", confirmed=True)

    sam = new_page()
    sam.goto("/accounts/login/")
    sam.fill("input[name=email]", staff.email)
    sam.fill("input[name=password]", password)
    sam.click("button[type=submit]")
    sam.wait_for_url("**/accounts/login/code/")  # stuck: no code to give

    sign_in(admin)
    page.goto(f"/settings/users/{staff.pk}/")
    expect(page.locator("#sign-in")).to_contain_text("Two-factor")
    page.click("button:has-text('Reset two-factor sign-in')")
    expect(page.locator(".messages")).to_contain_text("Two-factor sign-in of sam@example.com")
    screenshot("two-factor-reset")

    sam.goto("/accounts/login/")
    sam.fill("input[name=email]", staff.email)
    sam.fill("input[name=password]", password)
    sam.click("button[type=submit]")
    sam.wait_for_url(lambda url: "/accounts/login" not in url)
    assert sam.locator("h1").inner_text() == "Welcome, Sam Staff"
