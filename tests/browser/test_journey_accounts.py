"""Journeys through the account stories in Chromium, start to end as a person walks them:
every step a person takes happens on a page, and e-mails are read from the outbox. Only
the starting cast comes from factories (tests/conftest.py).

Why these exist: the invite page once sent ``Referrer-Policy: no-referrer``, so Chromium
posted its form with ``Origin: null`` and the CSRF check refused every invited user. A
test-client test cannot see that; a real browser walking the page can."""

import datetime
import re
import time
from base64 import b32decode

import pytest
from django_otp.oath import TOTP
from playwright.sync_api import expect

from accounts.forms import INVALID_LOGIN
from accounts.link_views import EMAIL_VERIFIED, INVITE_DONE, RESET_DONE
from accounts.tokens import InviteTokens
from tests.browser.axe import assert_accessible_now
from tests.browser.conftest import SCREENSHOTS
from tests.factories import AdminFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

NEW_PASSWORD = "a brand new long passphrase"


def _sign_in_form(page, email: str, secret: str) -> None:
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", secret)
    page.click("main form button[type=submit]")


def _sign_out(page) -> None:
    page.click(".topbar button:has-text('Sign out')")
    page.wait_for_url("**/accounts/login/")


def _choose_password(page, secret: str) -> None:
    assert_accessible_now(page)  # the set-password page of a link: only a journey gets here
    page.fill("input[name=new_password1]", secret)
    page.fill("input[name=new_password2]", secret)
    page.click("main form button[type=submit]")


def _screenshot(page, name: str) -> None:
    """The ``screenshot`` fixture's folder, for a second person's browser."""
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def _welcomed(page, name: str) -> bool:
    page.wait_for_url(lambda url: "/accounts/login" not in url)
    return page.locator("h1").inner_text() == f"Welcome, {name}"


def test_forgotten_password_is_reset_from_the_emailed_link(
    page, new_page, staff, password, mailbox, screenshot
):
    # Somewhere, a browser is still signed in with the old password.
    old_laptop = new_page()
    old_laptop.goto("/accounts/login/")
    _sign_in_form(old_laptop, staff.email, password)
    assert _welcomed(old_laptop, "Sam Staff")

    page.goto("/accounts/login/")
    page.click("text=Forgot password?")
    page.wait_for_url("**/accounts/password-reset/")
    page.fill("input[name=email]", "Sam@Example.com")
    page.click("main form button[type=submit]")
    page.wait_for_url("**/accounts/password-reset/sent/")
    assert "If the address exists, a link was sent to it." in page.content()
    screenshot("reset-sent")

    link = mailbox.link_to(staff.email)
    page.goto(link)
    token = link.rstrip("/").split("/")[-1]
    assert token not in page.url  # moved into the session, off the address bar
    assert page.locator("h1").inner_text() == "Choose a new password"
    screenshot("reset-choose")
    _choose_password(page, NEW_PASSWORD)
    page.wait_for_url("**/accounts/login/")
    assert RESET_DONE in page.inner_text("main")
    screenshot("reset-done")

    old_laptop.reload()  # every session of the account ended with the reset
    expect(old_laptop).to_have_url(re.compile(r"/accounts/login/\?next=/$"))

    _sign_in_form(page, staff.email, NEW_PASSWORD)
    assert _welcomed(page, "Sam Staff")
    _sign_out(page)

    _sign_in_form(page, staff.email, password)
    expect(page.locator("main")).to_contain_text(INVALID_LOGIN)
    assert "/accounts/login/" in page.url

    page.goto(link)  # used once: dead now
    assert page.locator("h1").inner_text() == "This link does not work"


def test_administrator_sends_a_reset_link_and_the_user_chooses_a_password(
    page, new_page, sign_in, admin, staff, mailbox, screenshot
):
    sign_in(admin)
    page.goto("/settings/users/")
    page.click(f"main a:has-text('{staff.name}')")
    page.wait_for_url(f"**/settings/users/{staff.pk}/")
    page.click("button:has-text('Send a password reset link')")
    page.wait_for_url(f"**/settings/users/{staff.pk}/")
    assert f"A password reset link was sent to {staff.email}." in page.inner_text("main")
    screenshot("admin-sent-reset")

    sam = new_page()
    sam.goto(mailbox.link_to(staff.email))
    assert sam.locator("h1").inner_text() == "Choose a new password"
    _choose_password(sam, NEW_PASSWORD)
    sam.wait_for_url("**/accounts/login/")
    assert RESET_DONE in sam.inner_text("main")
    _sign_in_form(sam, staff.email, NEW_PASSWORD)
    assert _welcomed(sam, "Sam Staff")


def test_user_verifies_their_address_from_the_profile(page, sign_in, staff, mailbox, screenshot):
    sign_in(staff)
    page.goto("/accounts/profile/")
    account = page.locator("section.card", has=page.locator("h2", has_text="Account"))
    assert "not verified" in account.inner_text()
    page.click("button:has-text('Send me a verification link')")
    page.wait_for_url("**/accounts/profile/")
    assert f"A verification link was sent to {staff.email}" in page.inner_text("main")

    page.goto(mailbox.link_to(staff.email))
    page.wait_for_url("**/accounts/profile/")
    assert EMAIL_VERIFIED in page.inner_text("main")
    account = page.locator("section.card", has=page.locator("h2", has_text="Account"))
    assert "not verified" not in account.inner_text()
    assert "verified" in account.inner_text()
    assert page.locator("button:has-text('Send me a verification link')").count() == 0
    screenshot("profile-verified")


STEP = 30  # seconds, the TOTP step every app assumes


class AuthenticatorApp:
    """What a phone app does with the key typed from the set-up page: RFC 6238, SHA-1,
    six digits, 30-second steps (the defaults every app assumes for a bare key)."""

    def __init__(self, typed_key: str):
        compact = typed_key.replace(" ", "").upper()
        self.key = b32decode(compact + "=" * (-len(compact) % 8))
        self.last_step = None

    def code(self) -> str:
        """The code shown now, or, when that one was already used (a code works once),
        the next one: the app shows it within 30 seconds, and the panel accepts one step
        of clock drift, so the test types it instead of waiting. Whether the clock moved
        on to a new step in between (a slow machine) or not, the code is always fresh."""
        now = int(time.time()) // STEP
        step = now if self.last_step is None or now > self.last_step else self.last_step + 1
        self.last_step = step
        totp = TOTP(self.key, step=STEP)
        totp.drift = step - now
        return f"{totp.token():06d}"


def test_user_turns_on_two_factor_and_signs_in_with_a_code_then_a_recovery_code(
    page, sign_in, staff, password, screenshot
):
    sign_in(staff)
    page.goto("/accounts/profile/")
    page.click("text=Manage two-factor sign-in")
    page.click("text=Set up two-factor sign-in")
    page.wait_for_url("**/accounts/profile/two-factor/setup/")
    assert page.locator(".qr svg").count() == 1
    assert_accessible_now(page)
    app = AuthenticatorApp(page.locator("code.secret").inner_text())
    screenshot("two-factor-setup")
    page.fill("input[name=code]", app.code())
    page.click("main form button[type=submit]")
    expect(page.locator("h1")).to_have_text("Your recovery codes")
    codes = page.locator("ol.recovery-codes code").all_inner_texts()
    assert len(codes) == 10
    screenshot("two-factor-recovery-codes")
    page.click("text=I have saved them")
    expect(page.locator("main")).to_contain_text("Recovery codes left: 10")
    _sign_out(page)

    # The password alone does not sign in: the code step follows, and then the page
    # the person was going to.
    page.goto("/accounts/profile/")
    page.wait_for_url("**/accounts/login/?next=/accounts/profile/")
    _sign_in_form(page, staff.email, password)
    page.wait_for_url("**/accounts/login/code/")
    assert page.locator(".topbar .who").count() == 0
    assert_accessible_now(page)
    screenshot("two-factor-code-step")
    # The code just used to turn it on cannot be used twice, and the app shows the next
    # one within 30 seconds: type that one instead of waiting for it.
    page.fill("input[name=code]", app.code())
    page.click("main form button[type=submit]")
    page.wait_for_url("**/accounts/profile/")
    expect(page.locator("#two-factor .pill")).to_have_text("On")
    assert page.locator(".topbar .who").inner_text().startswith("Sam Staff")
    _sign_out(page)

    _sign_in_form(page, staff.email, password)
    page.wait_for_url("**/accounts/login/code/")
    page.fill("input[name=code]", codes[0])
    page.click("main form button[type=submit]")
    assert _welcomed(page, "Sam Staff")
    assert "You used a recovery code; 9 left." in page.inner_text("main")
    _sign_out(page)

    _sign_in_form(page, staff.email, password)
    page.wait_for_url("**/accounts/login/code/")
    page.fill("input[name=code]", codes[0])
    page.click("main form button[type=submit]")
    expect(page.locator("main")).to_contain_text("That code is not right, or it has been used.")
    assert "/accounts/login/code/" in page.url
    assert page.locator(".topbar .who").count() == 0
    screenshot("two-factor-code-refused")


def _edit_user(page, user) -> None:
    """Settings > Users > the user's page > Edit, as an administrator clicks there."""
    page.goto("/settings/users/")
    page.click(f"main table a:has-text('{user.name}')")
    page.wait_for_url(f"**/settings/users/{user.pk}/")
    page.click("main .actions a:has-text('Edit')")
    page.wait_for_url(f"**/settings/users/{user.pk}/edit/")


def test_a_demoted_administrator_is_signed_out_at_their_next_request(
    page, new_page, sign_in, admin, password, screenshot
):
    bea = AdminFactory(email="bea@example.com", name="Bea Backup")
    sign_in(bea)
    assert page.locator(".topbar .badge").inner_text() == "Administrator"

    ada = new_page()
    ada.goto("/accounts/login/")
    _sign_in_form(ada, admin.email, password)
    assert _welcomed(ada, "Ada Admin")
    _edit_user(ada, bea)
    ada.check("input[name=role][value=user]")
    ada.click("main form button.primary")
    ada.wait_for_url(f"**/settings/users/{bea.pk}/")
    assert "User bea@example.com was saved." in ada.inner_text("main")

    page.click("nav.sidebar a:has-text('Users')")  # a page she had open a moment ago
    page.wait_for_url("**/accounts/login/?next=/settings/users/")
    assert page.locator(".topbar .who").count() == 0
    screenshot("demoted-signed-out")
    _sign_in_form(page, bea.email, password)
    page.wait_for_url("**/settings/users/")
    assert page.locator(".topbar .badge").inner_text() == "User"
    assert page.locator("h1").inner_text() == "Not allowed"  # no groups: no Users page
    screenshot("demoted-signed-in-again")


def test_a_change_of_groups_applies_at_the_users_next_request(
    page, new_page, sign_in, admin, staff, password, screenshot
):
    """Groups are not credentials: the session stays, and the next request is decided
    with the new groups (an access change retires the user's cached permissions)."""
    sign_in(staff)
    page.click("nav.sidebar a:has-text('Routing')")
    expect(page.locator("h1")).to_have_text("Routing")
    routing_url = page.url

    ada = new_page()
    ada.goto("/accounts/login/")
    _sign_in_form(ada, admin.email, password)
    _edit_user(ada, staff)
    ada.uncheck("label:has-text('Network Services Engineers') input")
    ada.click("main form button.primary")
    ada.wait_for_url(f"**/settings/users/{staff.pk}/")

    response = page.goto(routing_url)
    assert response.status == 403
    assert page.locator(".topbar .who").inner_text().startswith("Sam Staff")
    screenshot("groups-changed-refused")


def test_administrator_whitelisting_themselves_out_is_warned_then_locked_out(
    page, sign_in, admin, password, screenshot
):
    sign_in(admin)
    _edit_user(page, admin)
    assert "The panel sees your own address as 127.0.0.1" in page.inner_text("main")
    page.fill("textarea[name=ip_whitelist]", "127.0.0.1\n10.0.0.0/8")
    page.click("main form button.primary")
    page.wait_for_url(f"**/settings/users/{admin.pk}/")  # includes this address: saved
    assert "User ada@example.com was saved." in page.inner_text("main")
    facts = page.locator("section.card", has=page.locator("h2", has_text="Account"))
    assert "127.0.0.1 10.0.0.0/8" in facts.inner_text()

    page.click("main .actions a:has-text('Edit')")
    page.fill("textarea[name=ip_whitelist]", "10.0.0.0/8")
    page.click("main form button.primary")
    warning = page.locator("[role=alert]", has_text="You may lock yourself out.")
    expect(warning).to_contain_text(
        "does not include the address the panel sees for you (127.0.0.1)"
    )
    assert page.url.endswith(f"/settings/users/{admin.pk}/edit/")  # not saved
    screenshot("whitelist-lockout-warning")
    page.check("input[name=confirm_lockout]")
    response_to_save = page.expect_response(lambda r: r.request.method == "POST")
    with response_to_save as saved:
        page.click("main form button.primary")
    assert saved.value.status == 302
    # As the page said: the very next request is refused and the session is over.
    expect(page.locator("h1")).to_have_text("Not allowed")
    expect(page.locator("main")).to_contain_text("You have been signed out.")
    screenshot("whitelist-locked-out")
    response = page.goto("/settings/users/")
    assert "/accounts/login/" in page.url and response.status == 200
    _sign_in_form(page, admin.email, password)
    expect(page.locator("main")).to_contain_text(INVALID_LOGIN)
    assert page.locator(".topbar .who").count() == 0


def test_expired_invitation_asks_for_a_new_one_that_arrives_and_works(
    page, new_page, sign_in, admin, mailbox, monkeypatch, settings
):
    sign_in(admin)
    page.goto("/settings/users/new/")
    page.fill("input[name=name]", "Ivy Invited")
    page.fill("input[name=email]", "ivy@example.com")
    page.check("input[name=role][value=user]")
    page.click("main form button.primary")
    page.wait_for_url("**/settings/users/*/")
    first_link = mailbox.link_to("ivy@example.com")

    # Ivy opens the e-mail only after the invitation's lifetime. A person would just wait
    # that long; the test moves the invitation links' clock on by as much instead (and
    # only theirs: sessions, CSRF and every other clock stay real).
    later = datetime.datetime.now() + datetime.timedelta(seconds=settings.INVITE_TIMEOUT + 3600)
    monkeypatch.setattr(InviteTokens, "_now", lambda self: later)

    ivy = new_page()
    ivy.goto(first_link)
    assert ivy.locator("h1").inner_text() == "This link has expired"
    assert_accessible_now(ivy)
    _screenshot(ivy, "invite-expired")
    sent_before = len(mailbox.to("ivy@example.com"))
    ivy.click("button:has-text('Send me a new invitation')")
    expect(ivy.locator("h1")).to_have_text("Check your e-mail")
    assert len(mailbox.to("ivy@example.com")) == sent_before + 1
    new_link = mailbox.link_to("ivy@example.com")
    assert new_link != first_link

    ivy.goto(first_link)  # the old link is replaced, not merely expired
    assert ivy.locator("h1").inner_text() == "This link does not work"
    ivy.goto(new_link)
    assert ivy.locator("h1").inner_text() == "Welcome"
    _choose_password(ivy, "a long invited passphrase")
    ivy.wait_for_url("**/accounts/login/")
    assert INVITE_DONE in ivy.inner_text("main")
    _sign_in_form(ivy, "ivy@example.com", "a long invited passphrase")
    assert _welcomed(ivy, "Ivy Invited")


def test_a_form_left_open_across_a_new_sign_in_says_it_expired_then_works_after_a_reload(
    page, sign_in, staff, password, screenshot
):
    """Signing in rotates the CSRF token, so a form opened before it (here in another tab)
    is refused: the person gets the panel's page saying what to do, not Django's bare
    "CSRF verification failed"."""
    sign_in(staff)
    other_tab = page.context.new_page()
    other_tab.goto("/accounts/profile/")
    _sign_out(page)
    _sign_in_form(page, staff.email, password)
    assert _welcomed(page, "Sam Staff")

    other_tab.fill("input[name=name]", "Samuel Staff")
    other_tab.click("main form button:has-text('Save')")
    expect(other_tab.locator("h1")).to_have_text("This form has expired")
    assert "nothing was changed" in other_tab.inner_text("main")
    _screenshot(other_tab, "csrf-form-expired")

    other_tab.go_back()
    other_tab.reload()
    other_tab.fill("input[name=name]", "Samuel Staff")
    other_tab.click("main form button:has-text('Save')")
    expect(other_tab.locator("main")).to_contain_text("Your profile was saved.")
    assert other_tab.locator("input[name=name]").input_value() == "Samuel Staff"
