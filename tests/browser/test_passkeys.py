"""Passkeys (issue 18) in Debian's Chromium with a virtual authenticator (Chrome DevTools
Protocol, ``WebAuthn.addVirtualAuthenticator``): the browser's own WebAuthn code makes
and signs real credentials for the live server's origin; nothing is mocked. A person
registers a passkey on the profile, signs out, signs in with it and removes it; replayed
assertions, another origin, a non-whitelisted address and a deactivated account are
refused; a passkey is an administrator's second factor."""

import json

import pytest
from playwright.sync_api import expect

from accounts import passkeys, two_factor
from accounts.models import Passkey, UserSession
from controlpanel.audit.models import AuditEntry

from .axe import assert_accessible_now

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

AUTHENTICATOR = {
    "protocol": "ctap2",
    "transport": "internal",
    "hasResidentKey": True,
    "hasUserVerification": True,
    "isUserVerified": True,
}


def add_authenticator(page) -> dict:
    """A platform authenticator with a verified user (fingerprint, PIN) in this tab."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    found = cdp.send("WebAuthn.addVirtualAuthenticator", {"options": AUTHENTICATOR})
    return {"cdp": cdp, "id": found["authenticatorId"]}


def stored_credentials(authenticator) -> list:
    return authenticator["cdp"].send(
        "WebAuthn.getCredentials", {"authenticatorId": authenticator["id"]}
    )["credentials"]


def register(page, name: str) -> None:
    page.goto("/accounts/profile/")
    page.click("main a:has-text('Passkeys')")
    page.wait_for_url("**/accounts/profile/passkeys/")
    page.fill("#passkey-name", name)
    page.click("main button:has-text('Add a passkey')")
    expect(page.locator(".passkeys__row", has_text=name)).to_be_visible()


def sign_out(page) -> None:
    page.click(".topbar button:has-text('Sign out')")
    page.wait_for_url("**/accounts/login/")


def press_passkey_button(page) -> None:
    page.goto("/accounts/login/")
    page.click("button:has-text('Sign in with a passkey')")


def is_assertion_post(request) -> bool:
    return request.method == "POST" and "/accounts/login/passkey/?" in request.url


def passkey_error(page):
    return page.locator(".passkey-sign-in .passkey-error")


def test_register_sign_out_sign_in_with_the_passkey_then_remove_it(
    page, sign_in, staff, screenshot
):
    authenticator = add_authenticator(page)
    sign_in(staff)
    register(page, "work laptop")
    expect(page.locator("main")).to_contain_text("Passkey “work laptop” added")
    assert_accessible_now(page)
    screenshot("passkeys-profile")
    assert len(stored_credentials(authenticator)) == 1  # a discoverable credential
    assert AuditEntry.objects.filter(
        action=passkeys.PASSKEY_ADDED, object_id=str(staff.pk)
    ).exists()

    sign_out(page)
    screenshot("login-with-passkey-button")
    press_passkey_button(page)
    page.wait_for_url(lambda url: "/accounts/login/" not in url)
    expect(page.locator("h1")).to_have_text("Welcome, Sam Staff")
    login = AuditEntry.objects.filter(action="login", object_id=str(staff.pk)).latest("pk")
    assert login.message == "Signed in with the passkey “work laptop”."
    assert UserSession.objects.filter(user=staff).count() == 1  # the session is listed
    key = Passkey.objects.get(user=staff)
    assert key.last_used_at is not None

    page.goto("/accounts/profile/passkeys/")
    row = page.locator(".passkeys__row", has_text="work laptop")
    expect(row).not_to_contain_text("never")  # last used now
    row.locator("button:has-text('Remove')").click()  # fresh proof: the passkey sign-in
    expect(page.locator("main")).to_contain_text("Passkey “work laptop” removed")
    expect(page.locator(".passkeys__row")).to_have_count(0)
    assert AuditEntry.objects.filter(
        action=passkeys.PASSKEY_REMOVED, object_id=str(staff.pk)
    ).exists()

    sign_out(page)
    press_passkey_button(page)  # the authenticator still offers it; the panel does not
    expect(passkey_error(page)).to_have_text(passkeys.UNKNOWN_CREDENTIAL)
    screenshot("passkey-removed-refused")
    assert "/accounts/login/" in page.url


def test_a_replayed_assertion_is_refused(page, sign_in, staff):
    add_authenticator(page)
    sign_in(staff)
    register(page, "phone")
    sign_out(page)

    posted = []
    page.on("request", lambda request: is_assertion_post(request) and posted.append(request))
    press_passkey_button(page)
    page.wait_for_url(lambda url: "/accounts/login/" not in url)
    assert len(posted) == 1
    url, body = posted[0].url, posted[0].post_data
    sign_out(page)

    # The same signed answer again, from this browser with its session and CSRF token,
    # once as it is and once after asking for a new challenge: both refused.
    token = page.locator("input[name=csrfmiddlewaretoken]").first.input_value()
    headers = {"Content-Type": "application/json", "X-CSRFToken": token}
    again = page.request.post(url, data=body, headers=headers)
    assert again.status == 400
    assert again.json()["error"] == passkeys.NO_CHALLENGE
    page.request.post("/accounts/login/passkey/options/", data="{}", headers=headers)
    again = page.request.post(url, data=body, headers=headers)
    assert again.status == 400
    assert again.json()["error"] == passkeys.NOT_ACCEPTED
    page.goto("/")
    page.wait_for_url("**/accounts/login/**")  # still signed out
    refusals = AuditEntry.objects.filter(action="login failed", object_id=str(staff.pk))
    assert refusals.count() == 2
    assert "challenge" in refusals.latest("pk").message


def test_an_assertion_for_another_origin_is_refused(page, sign_in, staff, settings, live_server):
    add_authenticator(page)
    sign_in(staff)
    register(page, "laptop")
    sign_out(page)

    # The panel now accepts only another origin of the same relying party: the browser's
    # signed client data names the live server's origin, which is not among them.
    settings.WEBAUTHN_ORIGINS = ["http://localhost:1"]
    press_passkey_button(page)
    expect(passkey_error(page)).to_have_text(passkeys.NOT_ACCEPTED)
    assert "/accounts/login/" in page.url
    refusal = AuditEntry.objects.filter(action="login failed", object_id=str(staff.pk)).latest("pk")
    assert "origin" in refusal.message and live_server.url in refusal.message


def test_the_whitelist_refuses_a_passkey_sign_in_from_another_address(page, sign_in, staff):
    add_authenticator(page)
    sign_in(staff)
    register(page, "laptop")
    sign_out(page)
    staff.ip_whitelist = [{"entry": "10.", "network": "10.0.0.0/8"}]  # set by an administrator
    staff.save()

    press_passkey_button(page)
    expect(passkey_error(page)).to_have_text(passkeys.REFUSED)
    assert "/accounts/login/" in page.url
    refusal = AuditEntry.objects.filter(action="login failed", object_id=str(staff.pk)).latest("pk")
    assert "address not whitelisted" in refusal.message


def test_a_deactivated_users_passkey_is_refused(page, sign_in, staff):
    add_authenticator(page)
    sign_in(staff)
    register(page, "laptop")
    sign_out(page)
    staff.is_active = False  # deactivated by an administrator
    staff.save()

    press_passkey_button(page)
    expect(passkey_error(page)).to_have_text(passkeys.REFUSED)
    refusal = AuditEntry.objects.filter(action="login failed", object_id=str(staff.pk)).latest("pk")
    assert "inactive account" in refusal.message


def test_a_passkey_is_an_administrators_second_factor(
    page, sign_in, admin, password, settings, screenshot
):
    settings.OTP_REQUIRED_FOR_ADMINS = True
    add_authenticator(page)
    sign_in(admin)
    page.wait_for_url("**/accounts/profile/two-factor/setup/**")  # must enrol first
    page.click("main a:has-text('add a passkey')")
    page.wait_for_url("**/accounts/profile/passkeys/")
    page.fill("#passkey-name", "security key")
    page.click("main button:has-text('Add a passkey')")
    expect(page.locator(".passkeys__row", has_text="security key")).to_be_visible()
    page.goto("/")
    expect(page.locator("h1")).to_have_text("Welcome, Ada Admin")  # enrolled: no detour
    assert not two_factor.is_enabled(admin)  # no authenticator app: the passkey suffices
    sign_out(page)

    # The password alone is not enough: the second step asks for the passkey.
    page.fill("input[name=email]", admin.email)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url("**/accounts/login/code/")
    expect(page.locator("h1")).to_have_text("Confirm with your passkey")
    screenshot("second-step-passkey")
    page.click("button:has-text('Use a passkey')")
    page.wait_for_url(lambda url: "/accounts/login/" not in url)
    expect(page.locator("h1")).to_have_text("Welcome, Ada Admin")
    login = AuditEntry.objects.filter(action="login", object_id=str(admin.pk)).latest("pk")
    assert login.message == "Signed in with a password and the passkey “security key”."
    sign_out(page)

    # The passkey alone (user-verified: both factors) signs the administrator in.
    press_passkey_button(page)
    page.wait_for_url(lambda url: "/accounts/login/" not in url)
    expect(page.locator("h1")).to_have_text("Welcome, Ada Admin")


def test_the_posted_assertion_is_json_with_the_credential(page, sign_in, staff):
    """What the page sends is what the endpoint documents: a JSON object whose
    ``credential`` carries the base64url fields py_webauthn reads."""
    add_authenticator(page)
    sign_in(staff)
    register(page, "laptop")
    sign_out(page)
    with page.expect_request(is_assertion_post) as captured:
        press_passkey_button(page)
    body = json.loads(captured.value.post_data)
    assert set(body["credential"]["response"]) >= {
        "clientDataJSON",
        "authenticatorData",
        "signature",
        "userHandle",
    }
    assert body["credential"]["id"] == Passkey.objects.get(user=staff).credential_id
