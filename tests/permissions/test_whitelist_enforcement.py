"""The whitelist at login and on every request; administrators are not exempt."""

import pytest

from accounts.forms import INVALID_LOGIN
from accounts.ipwhitelist import parse_whitelist, stored_whitelist
from controlpanel.audit.models import AuditEntry

pytestmark = pytest.mark.django_db

LOGIN = "/accounts/login/"


def whitelist(user, *entries):
    user.ip_whitelist = stored_whitelist(parse_whitelist(entries))
    user.save()


def test_login_from_a_whitelisted_address_works(client, admin, password):
    whitelist(admin, "203.0.113.")
    response = client.post(
        LOGIN, {"email": admin.email, "password": password}, REMOTE_ADDR="203.0.113.8"
    )
    assert response.status_code == 302


def test_login_from_elsewhere_looks_like_a_wrong_password_and_is_audited(client, admin, password):
    whitelist(admin, "203.0.113.")
    response = client.post(
        LOGIN, {"email": admin.email, "password": password}, REMOTE_ADDR="198.51.100.1"
    )
    assert response.status_code == 200
    assert INVALID_LOGIN in response.content.decode()
    assert "_auth_user_id" not in client.session
    entry = AuditEntry.objects.get(action="login failed")
    assert "address not whitelisted" in entry.message
    assert entry.address == "198.51.100.1"


def test_forwarded_header_cannot_talk_past_the_whitelist(client, admin, password):
    whitelist(admin, "203.0.113.8")
    response = client.post(
        LOGIN,
        {"email": admin.email, "password": password},
        REMOTE_ADDR="198.51.100.1",
        HTTP_X_FORWARDED_FOR="203.0.113.8",
        HTTP_CLIENT_IP="203.0.113.8",
        HTTP_X_REAL_IP="203.0.113.8",
    )
    assert INVALID_LOGIN in response.content.decode()


def test_a_session_that_moves_to_another_address_is_ended(client, staff, password):
    whitelist(staff, "203.0.113.0/24")
    client.post(LOGIN, {"email": staff.email, "password": password}, REMOTE_ADDR="203.0.113.8")
    assert client.get("/accounts/profile/", REMOTE_ADDR="203.0.113.9").status_code == 200
    moved = client.get("/accounts/profile/", REMOTE_ADDR="198.51.100.1")
    assert moved.status_code == 403
    assert "not allowed" in moved.content.decode()
    assert AuditEntry.objects.filter(action="whitelist block", actor=staff).exists()
    # the session is gone: back at the whitelisted address, the user must sign in again
    assert client.get("/accounts/profile/", REMOTE_ADDR="203.0.113.8").status_code == 302


def test_a_public_page_also_ends_a_session_from_outside_the_whitelist(client, staff, password):
    whitelist(staff, "203.0.113.0/24")
    client.post(LOGIN, {"email": staff.email, "password": password}, REMOTE_ADDR="203.0.113.8")
    moved = client.get("/accounts/password-reset/", REMOTE_ADDR="198.51.100.1")
    assert moved.status_code == 403
    assert "You have been signed out." in moved.content.decode()
    assert AuditEntry.objects.filter(action="whitelist block", actor=staff).exists()
    assert client.get("/accounts/profile/", REMOTE_ADDR="203.0.113.8").status_code == 302


def test_api_requests_from_outside_the_whitelist_are_refused(client_as, admin, settings):
    whitelist(admin, "10.")
    client = client_as(admin)
    response = client.get("/", REMOTE_ADDR="11.0.0.1")
    assert response.status_code == 403


def test_behind_a_proxy_the_forwarded_client_is_checked(client, admin, password, settings):
    settings.CLIENT_IP_HEADER = "HTTP_X_FORWARDED_FOR"
    settings.TRUSTED_PROXY_COUNT = 1
    settings.TRUSTED_PROXY_NETWORKS = ["127.0.0.1/32"]
    whitelist(admin, "203.0.113.8")
    ok = client.post(
        LOGIN,
        {"email": admin.email, "password": password},
        REMOTE_ADDR="127.0.0.1",
        HTTP_X_FORWARDED_FOR="203.0.113.8",
    )
    assert ok.status_code == 302
    forged = client.get(
        "/", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.8, 198.51.100.1"
    )
    assert forged.status_code == 403
