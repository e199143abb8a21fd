"""Passkeys at the view level: every refusal of the sign-in endpoints answers with a clear
message and is audited, failures count toward the lockout, the signature counter and
user verification are enforced, and the second step accepts a passkey. Assertions are
real (a P-256 key signing WebAuthn data, tests/accounts/soft_authenticator.py); the
browser journeys are in tests/browser/test_passkeys.py."""

import json
import time

import pytest
from django.conf import settings as django_settings
from django.contrib.auth import SESSION_KEY

from accounts import lockout, passkey_views, passkeys, reauth, two_factor
from accounts.models import Passkey, UserSession
from controlpanel.audit.models import AuditEntry

from .soft_authenticator import SoftAuthenticator

pytestmark = pytest.mark.django_db

OPTIONS = "/accounts/login/passkey/options/"
SIGN_IN = "/accounts/login/passkey/"
SECOND_OPTIONS = "/accounts/login/code/passkey/options/"
SECOND = "/accounts/login/code/passkey/"


def post_json(client, url, body, **extra):
    data = body if isinstance(body, str | bytes) else json.dumps(body)
    return client.post(url, data=data, content_type="application/json", **extra)


def options(client, url=OPTIONS) -> dict:
    answer = client.post(url)
    assert answer.status_code == 200, answer.content
    return answer.json()


def refusals(user=None):
    entries = AuditEntry.objects.filter(action="login failed")
    return entries.filter(object_id=str(user.pk)) if user else entries


@pytest.fixture
def key(staff):
    authenticator = SoftAuthenticator()
    authenticator.register(staff, name="office key")
    return authenticator


def test_the_sign_in_options_ask_for_user_verification_and_list_no_credentials(client):
    answer = options(client)
    assert answer["rpId"] == "testserver"
    assert answer["userVerification"] == "required"
    assert answer["allowCredentials"] == []  # discoverable: the authenticator offers them


def test_a_good_assertion_signs_in_records_the_session_and_audits(client, staff, key):
    answer = post_json(
        client, SIGN_IN + "?next=/accounts/profile/", {"credential": key.assertion(options(client))}
    )
    assert answer.status_code == 200, answer.content
    assert answer.json() == {"redirect": "/accounts/profile/"}
    assert client.session[SESSION_KEY] == str(staff.pk)
    assert UserSession.objects.filter(user=staff).count() == 1
    entry = AuditEntry.objects.filter(action="login").latest("pk")
    assert entry.message == "Signed in with the passkey “office key”."
    assert Passkey.objects.get(user=staff).sign_count == 1
    assert client.get("/accounts/profile/").status_code == 200


def test_bad_json_is_refused_with_a_clear_message(client):
    for body in ("{not json", "[1, 2]", b"\xff\xfe"):
        answer = post_json(client, SIGN_IN, body)
        assert answer.status_code == 400
        assert answer.json()["error"] == passkey_views.BAD_JSON
    assert SESSION_KEY not in client.session


def test_a_credential_without_an_id_is_refused_as_unreadable(client):
    answer = post_json(client, SIGN_IN, {"credential": {"type": "public-key"}})
    assert answer.status_code == 400
    assert answer.json()["error"] == passkeys.MALFORMED


def test_an_unknown_credential_is_refused_audited_and_counted_against_the_address(client, key):
    options(client)
    answer = post_json(
        client, SIGN_IN, {"credential": {**key.assertion({"challenge": "x"}), "id": "bm9wZQ"}}
    )
    assert answer.status_code == 400
    assert answer.json()["error"] == passkeys.UNKNOWN_CREDENTIAL
    assert refusals().latest("pk").message == "Login refused: unknown passkey."
    assert SESSION_KEY not in client.session
    # the challenge was spent: the real credential cannot use it now
    answer = post_json(client, SIGN_IN, {"credential": key.assertion({"challenge": "x"})})
    assert answer.json()["error"] == passkeys.NO_CHALLENGE


def test_an_expired_challenge_is_refused(client, staff, key, monkeypatch):
    challenge = options(client)
    later = time.time() + django_settings.WEBAUTHN_CHALLENGE_TIMEOUT + 1
    monkeypatch.setattr(passkeys.time, "time", lambda: later)
    answer = post_json(client, SIGN_IN, {"credential": key.assertion(challenge)})
    assert answer.status_code == 400
    assert answer.json()["error"] == passkeys.NO_CHALLENGE
    assert "no current passkey challenge" in refusals(staff).latest("pk").message
    assert SESSION_KEY not in client.session


def test_a_challenge_works_once(client, staff, key):
    challenge = options(client)
    assert post_json(client, SIGN_IN, {"credential": key.assertion(challenge)}).status_code == 200
    client.post("/accounts/logout/")
    again = post_json(client, SIGN_IN, {"credential": key.assertion(challenge)})
    assert again.json()["error"] == passkeys.NO_CHALLENGE


def test_an_assertion_without_user_verification_is_refused(client, staff, key):
    answer = post_json(
        client, SIGN_IN, {"credential": key.assertion(options(client), verified=False)}
    )
    assert answer.json()["error"] == passkeys.NOT_ACCEPTED
    assert "User verification is required" in refusals(staff).latest("pk").message


def test_another_origin_and_another_user_handle_are_refused(client, staff, key):
    answer = post_json(
        client,
        SIGN_IN,
        {"credential": key.assertion(options(client), origin="https://panel.example.evil")},
    )
    assert answer.json()["error"] == passkeys.NOT_ACCEPTED
    assert "origin" in refusals(staff).latest("pk").message
    answer = post_json(
        client, SIGN_IN, {"credential": key.assertion(options(client), user_handle="b3RoZXI")}
    )
    assert answer.json()["error"] == passkeys.NOT_ACCEPTED
    assert "user handle" in refusals(staff).latest("pk").message


def test_a_signature_counter_that_goes_back_is_refused_and_audited(client, staff, key):
    assert (
        post_json(
            client, SIGN_IN, {"credential": key.assertion(options(client), counter=7)}
        ).status_code
        == 200
    )
    client.post("/accounts/logout/")
    answer = post_json(client, SIGN_IN, {"credential": key.assertion(options(client), counter=7)})
    assert answer.json()["error"] == passkeys.COUNTER_WENT_BACK
    entry = AuditEntry.objects.get(action=passkeys.PASSKEY_COUNTER)
    assert "counter 7, not above 7" in entry.message
    assert SESSION_KEY not in client.session


def test_an_authenticator_without_a_counter_may_keep_sending_zero(client, staff, key):
    for _ in range(2):
        answer = post_json(
            client, SIGN_IN, {"credential": key.assertion(options(client), counter=0)}
        )
        assert answer.status_code == 200
        client.post("/accounts/logout/")


def test_failed_assertions_count_toward_the_accounts_lockout(client, staff, key, settings):
    before = lockout.failures_for(staff.email)
    post_json(client, SIGN_IN, {"credential": key.assertion(options(client), verified=False)})
    assert lockout.failures_for(staff.email) == before + 1


def test_a_locked_out_account_is_refused_even_with_a_good_passkey(client, staff, key, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post("/accounts/login/", {"email": staff.email, "password": "wrong"})
    answer = post_json(client, SIGN_IN, {"credential": key.assertion(options(client))})
    assert answer.status_code == 403
    assert answer.json()["error"] == passkeys.REFUSED
    assert "locked out" in refusals(staff).latest("pk").message
    assert SESSION_KEY not in client.session


def test_passkeys_turned_off_say_so(client, settings):
    settings.WEBAUTHN_ENABLED = False
    answer = client.post(OPTIONS)
    assert answer.status_code == 400
    assert answer.json()["error"] == passkeys.UNAVAILABLE
    assert "Sign in with a passkey" not in client.get("/accounts/login/").content.decode()


def test_the_login_page_offers_a_passkey_with_a_script_file_and_no_inline_script(client):
    page = client.get("/accounts/login/").content.decode()
    assert "Sign in with a passkey" in page
    assert 'src="/static/js/passkeys.js"' in page
    assert "<script>" not in page


# --- The second step ----------------------------------------------------------------------


@pytest.fixture
def admin_key(admin):
    authenticator = SoftAuthenticator()
    authenticator.register(admin, name="admin key")
    return authenticator


def password_step(client, user, password):
    answer = client.post("/accounts/login/", {"email": user.email, "password": password})
    assert answer.status_code == 302 and answer.url == "/accounts/login/code/"


def test_a_required_administrator_with_a_passkey_is_asked_for_it_after_the_password(
    client, admin, admin_key, password, settings
):
    settings.OTP_REQUIRED_FOR_ADMINS = True
    password_step(client, admin, password)
    page = client.get("/accounts/login/code/").content.decode()
    assert "Confirm with your passkey" in page and 'name="code"' not in page
    answer = post_json(
        client, SECOND, {"credential": admin_key.assertion(options(client, SECOND_OPTIONS))}
    )
    assert answer.status_code == 200, answer.content
    assert client.session[SESSION_KEY] == str(admin.pk)
    assert AuditEntry.objects.filter(action="login").latest("pk").message == (
        "Signed in with a password and the passkey “admin key”."
    )
    assert client.get("/").status_code == 200  # enrolled: no detour to the setup page


def test_the_second_step_lists_only_the_pending_users_passkeys_and_refuses_others(
    client, admin, admin_key, staff, key, password, settings
):
    settings.OTP_REQUIRED_FOR_ADMINS = True
    password_step(client, admin, password)
    challenge = options(client, SECOND_OPTIONS)
    assert [item["id"] for item in challenge["allowCredentials"]] == [admin_key.credential_id]
    answer = post_json(client, SECOND, {"credential": key.assertion(challenge)})
    assert answer.json()["error"] == passkeys.NOT_ACCEPTED
    assert SESSION_KEY not in client.session


def test_the_second_step_without_a_password_step_sends_back_to_sign_in(client):
    answer = client.post(SECOND_OPTIONS)
    assert answer.status_code == 400
    assert answer.json()["redirect"] == "/accounts/login/"


def test_without_the_requirement_a_passkey_does_not_add_a_step_to_the_password(
    client, staff, key, password
):
    answer = client.post("/accounts/login/", {"email": staff.email, "password": password})
    assert answer.status_code == 302 and answer.url == "/"


# --- The profile --------------------------------------------------------------------------


def test_adding_a_passkey_needs_fresh_proof(client, staff):
    client.force_login(staff)
    session = client.session
    session[reauth.SESSION_KEY] = int(time.time()) - django_settings.REAUTH_WINDOW - 1
    session.save()  # signed in long ago
    answer = post_json(client, "/accounts/profile/passkeys/options/", {"name": "laptop"})
    assert answer.status_code == 403
    assert answer.json()["redirect"].startswith("/accounts/profile/confirm-password/")


def test_a_passkey_name_must_be_given_and_unique(client, staff, key, password):
    client.post("/accounts/login/", {"email": staff.email, "password": password})
    for name, message in (
        ("  ", passkeys.NAME_MISSING),
        ("x" * 65, passkeys.NAME_TOO_LONG),
        ("office  key", passkeys.NAME_TAKEN.format(name="office key")),
    ):
        answer = post_json(client, "/accounts/profile/passkeys/options/", {"name": name})
        assert answer.status_code == 400
        assert answer.json() == {"error": message, "field": "name"}
    answer = post_json(client, "/accounts/profile/passkeys/options/", {"name": "laptop"})
    created = answer.json()
    assert created["authenticatorSelection"]["residentKey"] == "required"
    assert created["authenticatorSelection"]["userVerification"] == "required"
    assert [item["id"] for item in created["excludeCredentials"]] == [key.credential_id]
    assert created["user"]["id"] == key.user_handle  # one handle per user


def test_a_garbled_registration_is_refused_and_keeps_nothing(client, staff, password):
    client.post("/accounts/login/", {"email": staff.email, "password": password})
    post_json(client, "/accounts/profile/passkeys/options/", {"name": "laptop"})
    answer = post_json(
        client,
        "/accounts/profile/passkeys/add/",
        {"name": "laptop", "credential": {"id": "eA", "rawId": "eA", "response": {}}},
    )
    assert answer.status_code == 400
    assert answer.json()["error"] == passkeys.NOT_ACCEPTED
    assert not Passkey.objects.filter(user=staff).exists()


def test_removing_a_passkey_ends_other_sessions_and_is_audited(client, staff, key, password):
    other = type(client)()
    other.post("/accounts/login/", {"email": staff.email, "password": password})
    client.post("/accounts/login/", {"email": staff.email, "password": password})
    passkey = Passkey.objects.get(user=staff)
    answer = client.post(f"/accounts/profile/passkeys/{passkey.pk}/remove/")
    assert answer.status_code == 302
    assert not Passkey.objects.filter(pk=passkey.pk).exists()
    assert other.get("/accounts/profile/").status_code == 302  # signed out
    assert client.get("/accounts/profile/").status_code == 200
    entry = AuditEntry.objects.get(action=passkeys.PASSKEY_REMOVED)
    assert "“office key”" in entry.message and "by its owner" in entry.message


def test_another_users_passkey_cannot_be_removed(client, staff, outsider, password):
    theirs = SoftAuthenticator().register(outsider)
    client.post("/accounts/login/", {"email": staff.email, "password": password})
    assert client.post(f"/accounts/profile/passkeys/{theirs.pk}/remove/").status_code == 404
    assert Passkey.objects.filter(pk=theirs.pk).exists()


def test_a_required_administrator_keeps_a_last_passkey(
    client, admin, admin_key, settings, password
):
    settings.OTP_REQUIRED_FOR_ADMINS = True
    password_step(client, admin, password)
    post_json(client, SECOND, {"credential": admin_key.assertion(options(client, SECOND_OPTIONS))})
    passkey = Passkey.objects.get(user=admin)
    client.post(f"/accounts/profile/passkeys/{passkey.pk}/remove/")
    assert Passkey.objects.filter(pk=passkey.pk).exists()
    assert (
        passkey_views.KEEP_A_SECOND_FACTOR
        in client.get("/accounts/profile/passkeys/").content.decode()
    )


def test_a_passkey_counts_as_the_second_factor_an_administrator_must_have(admin, admin_key):
    assert not two_factor.is_enabled(admin)
    assert two_factor.has_second_factor(admin)
