"""Account hardening (issue 14, item 7): a stolen session cannot guess the password
forever, enrol its own second factor or mint a token without fresh proof; a reset ends
the tokens too; "forgot password" cannot mail-bomb an account; administrators and the
shell can reset a lost second factor; e-mailed links come from PANEL_URL."""

import http.cookiejar
import re
import time
import urllib.parse
import urllib.request

import pytest
from axes.utils import reset as axes_reset
from django.core import mail
from django.test import Client
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import reauth
from accounts.api_tokens import Refusal, api_token_create, check_token
from accounts.models import ApiToken
from controlpanel.audit.models import AuditEntry

pytestmark = pytest.mark.django_db

PASSWORD_CHANGE = "/accounts/profile/password/"
CONFIRM = "/accounts/profile/confirm-password/"
SETUP = "/accounts/profile/two-factor/setup/"
TOKENS = "/accounts/tokens/"
FORGOT = "/accounts/password-reset/"
NEW = "another long passphrase 2026"


@pytest.fixture(autouse=True)
def _no_lockouts_carried_over(db):
    axes_reset()
    yield
    axes_reset()


def stale_proof(client) -> None:
    """The password was typed at sign-in long ago (a person who left the tab open)."""
    session = client.session
    session[reauth.SESSION_KEY] = int(time.time()) - 3600
    session.save()


def link_in(message) -> str:
    return re.search(r"https?://\S+", message.body).group(0)


# --- Wrong current passwords count toward the lockout -----------------------------------


def test_wrong_current_passwords_on_change_password_lock_the_account_and_end_the_session(
    client_as, staff, password, settings
):
    client = client_as(staff)
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        page = client.post(
            PASSWORD_CHANGE,
            {"old_password": "a wrong guess", "new_password1": NEW, "new_password2": NEW},
        )
        assert page.status_code == 200
        assert "Your old password was entered incorrectly" in page.content.decode()
    last = client.post(
        PASSWORD_CHANGE,
        {"old_password": "a wrong guess", "new_password1": NEW, "new_password2": NEW},
    )
    assert last.status_code == 302 and "/accounts/login/" in last["Location"]
    assert client.get("/accounts/profile/").status_code == 302  # the session is gone
    fresh = Client()
    assert (
        fresh.post("/accounts/login/", {"email": staff.email, "password": password}).status_code
        == 200
    )
    staff.refresh_from_db()
    assert staff.check_password(password)


def test_the_right_current_password_still_changes_it(client_as, staff, password):
    client = client_as(staff)
    page = client.post(
        PASSWORD_CHANGE, {"old_password": password, "new_password1": NEW, "new_password2": NEW}
    )
    assert page.status_code == 302
    staff.refresh_from_db()
    assert staff.check_password(NEW)


# --- Fresh proof of the password ----------------------------------------------------------


def test_two_factor_setup_needs_a_fresh_password(client_as, staff, password):
    client = client_as(staff)
    stale_proof(client)
    page = client.get(SETUP)
    assert page.status_code == 302
    assert page["Location"].startswith(CONFIRM) and "next=" in page["Location"]
    assert not TOTPDevice.objects.filter(user=staff).exists()

    wrong = client.post(CONFIRM, {"password": "not it", "next": SETUP})
    assert wrong.status_code == 200
    assert reauth.WRONG_PASSWORD in wrong.content.decode()
    right = client.post(CONFIRM, {"password": password, "next": SETUP})
    assert right.status_code == 302 and right["Location"] == SETUP
    assert client.get(SETUP).status_code == 200


def test_minting_a_token_needs_a_fresh_password(client_as, staff, password):
    client = client_as(staff)
    stale_proof(client)
    assert "Confirm your password to create a token" in client.get(TOKENS).content.decode()
    refused = client.post(f"{TOKENS}new/", {"name": "exfiltrate"})
    assert refused.status_code == 302 and refused["Location"].startswith(CONFIRM)
    assert not ApiToken.objects.filter(user=staff).exists()
    client.post(CONFIRM, {"password": password, "next": TOKENS})
    made = client.post(f"{TOKENS}new/", {"name": "billing export"})
    assert made.status_code == 200
    assert ApiToken.objects.filter(user=staff, name="billing export").exists()


def test_signing_in_counts_as_fresh_proof(client, staff, password):
    client.post("/accounts/login/", {"email": staff.email, "password": password})
    assert client.get(SETUP).status_code == 200


def test_wrong_passwords_on_the_confirm_page_lock_the_account(client_as, staff, settings):
    client = client_as(staff)
    stale_proof(client)
    for _ in range(settings.AXES_FAILURE_LIMIT):
        answer = client.post(CONFIRM, {"password": "guess", "next": SETUP})
    assert answer.status_code == 302 and "/accounts/login/" in answer["Location"]
    assert client.get("/accounts/profile/").status_code == 302


def test_the_confirm_page_never_sends_the_user_to_another_site(client_as, staff, password):
    client = client_as(staff)
    answer = client.post(CONFIRM, {"password": password, "next": "https://evil.example/"})
    assert answer.status_code == 302 and answer["Location"] == "/"


# --- A reset ends the tokens too ----------------------------------------------------------


def test_a_password_reset_revokes_the_api_tokens_minted_from_a_session(client, staff):
    _, raw = api_token_create(user=staff, name="minted by a thief", read_only=False, address=None)
    assert check_token(raw).refusal == ""
    client.post(FORGOT, {"email": staff.email})
    link = link_in(mail.outbox[-1])
    page = client.get(link, follow=True)
    client.post(
        page.redirect_chain[-1][0], {"new_password1": NEW, "new_password2": NEW}, follow=True
    )
    staff.refresh_from_db()
    assert staff.check_password(NEW)
    assert check_token(raw).refusal == Refusal.REVOKED
    assert AuditEntry.objects.filter(action="api tokens revoked", object_id=str(staff.pk)).exists()


def test_a_password_set_by_an_administrator_revokes_the_tokens(client_as, admin, staff):
    _, raw = api_token_create(user=staff, name="old", read_only=True, address=None)
    client_as(admin).post(
        f"/settings/users/{staff.pk}/password/", {"new_password1": NEW, "new_password2": NEW}
    )
    assert check_token(raw).refusal == Refusal.REVOKED


def test_set_password_from_the_shell_revokes_the_tokens(manage, staff):
    _, raw = api_token_create(user=staff, name="old", read_only=False, address=None)
    result = manage("set_password", staff.email, stdin=NEW + "\n")
    assert result.status == 0, result.err
    assert check_token(raw).refusal == Refusal.REVOKED


# --- "Forgot password" cannot flood a mailbox ----------------------------------------------


def test_fifteen_reset_requests_send_at_most_the_account_limit(client, staff, settings):
    answers = {client.post(FORGOT, {"email": staff.email})["Location"] for _ in range(15)}
    assert answers == {"/accounts/password-reset/sent/"}  # the same answer every time
    assert len([m for m in mail.outbox if staff.email in m.to]) == (
        settings.PASSWORD_RESET_LIMIT_PER_ACCOUNT
    )
    assert AuditEntry.objects.filter(action="reset throttled").count() == 15 - 3


def test_one_address_cannot_spray_reset_mails_over_many_accounts(client, settings):
    from tests.factories import UserFactory

    settings.PASSWORD_RESET_LIMIT_PER_ADDRESS = 5
    users = [UserFactory(email=f"u{n}@example.com") for n in range(8)]
    for user in users:
        client.post(FORGOT, {"email": user.email})
    assert len(mail.outbox) == 5


# --- Recovery of a lost second factor -----------------------------------------------------


@pytest.fixture
def staff_with_two_factor(staff):
    TOTPDevice.objects.create(user=staff, name="app", confirmed=True)
    StaticDevice.objects.create(user=staff, name="backup", confirmed=True)
    staff.email_verified_at = staff.created_at
    staff.save(update_fields=["email_verified_at"])
    return staff


def test_an_administrator_resets_a_lost_second_factor(
    client_as, admin, staff_with_two_factor, password
):
    other = Client()
    other.force_login(staff_with_two_factor)
    page = client_as(admin).get(f"/settings/users/{staff_with_two_factor.pk}/")
    assert "Reset two-factor sign-in" in page.content.decode()
    answer = client_as(admin).post(f"/settings/users/{staff_with_two_factor.pk}/two-factor/reset/")
    assert answer.status_code == 302
    assert not TOTPDevice.objects.filter(user=staff_with_two_factor).exists()
    assert not StaticDevice.objects.filter(user=staff_with_two_factor).exists()
    assert other.get("/accounts/profile/").status_code == 302  # their sessions ended
    assert AuditEntry.objects.filter(action="2fa reset").count() == 1
    assert any("two-factor" in m.subject.lower() for m in mail.outbox)


def test_a_user_manager_cannot_reset_an_administrators_second_factor(client_as, manager, admin):
    TOTPDevice.objects.create(user=admin, name="app", confirmed=True)
    answer = client_as(manager).post(f"/settings/users/{admin.pk}/two-factor/reset/")
    assert answer.status_code == 403
    assert TOTPDevice.objects.filter(user=admin).exists()


def test_reset_two_factor_from_the_shell(manage, staff_with_two_factor, outsider):
    result = manage("reset_two_factor", staff_with_two_factor.email.upper())
    assert result.status == 0, result.err
    assert not TOTPDevice.objects.filter(user=staff_with_two_factor).exists()
    assert manage("reset_two_factor", outsider.email).status == 1
    assert manage("reset_two_factor", "nobody@example.com").status == 2


# --- Links from PANEL_URL, over real HTTP -------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_emailed_links_ignore_the_host_header(live_server, settings, staff):
    settings.PANEL_URL = "https://panel.example.com"
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    form = opener.open(live_server.url + FORGOT).read().decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form).group(1)
    port = urllib.parse.urlsplit(live_server.url).port
    request = urllib.request.Request(
        live_server.url + FORGOT,
        data=urllib.parse.urlencode({"csrfmiddlewaretoken": token, "email": staff.email}).encode(),
        headers={"Host": f"localhost:{port}", "Referer": live_server.url + FORGOT},
    )
    opener.open(request)
    link = link_in(mail.outbox[-1])
    assert link.startswith("https://panel.example.com/accounts/password-reset/")
