"""Personal API tokens: made on the profile, shown once, stored hashed, revoked at will.
A token is its owner: the same permissions, the same whitelist, and nothing once the owner
is deactivated or the token is revoked or expired."""

from __future__ import annotations

import datetime
import hashlib
import re

import pytest
from django.contrib.sessions.models import Session
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.api_tokens import MAX_ACTIVE_TOKENS, Refusal
from accounts.ipwhitelist import parse_whitelist, stored_whitelist
from accounts.models import ApiToken, UserSession
from controlpanel.audit.models import AuditEntry

from .conftest import Api, make_token

pytestmark = pytest.mark.django_db

TOKEN = re.compile(r"cp_[0-9a-f]{12}_[A-Za-z0-9_\-]{40,64}")


def _create_on_the_page(client, **data):
    return client.post("/accounts/tokens/new/", {"name": "Nightly export", **data})


# --- The self-service pages --------------------------------------------------------------


def test_anyone_signed_in_has_a_tokens_page(client_as, outsider):
    response = client_as(outsider).get("/accounts/tokens/")
    assert response.status_code == 200
    assert "You have no API tokens yet." in response.content.decode()


def test_the_tokens_page_needs_a_sign_in(client):
    response = client.get("/accounts/tokens/")
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_a_new_token_is_shown_once_and_stored_hashed(client_as, admin):
    client = client_as(admin)
    response = _create_on_the_page(client)
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    raw = TOKEN.search(response.content.decode()).group(0)
    token = ApiToken.objects.get(user=admin)
    assert token.secret_hash == hashlib.sha256(raw.encode()).hexdigest()
    stored = " ".join(str(value) for value in ApiToken.objects.values().get().values())
    assert raw not in stored
    assert raw.split("_", 2)[2] not in stored  # not even the secret part
    listed = client.get("/accounts/tokens/").content.decode()
    assert raw not in listed
    assert f"cp_{token.prefix}_" in listed  # the prefix identifies it
    assert Api(raw).get("/api/cp/customer").status_code == 200


def test_making_a_token_is_audited_without_the_token(client_as, admin):
    raw = TOKEN.search(_create_on_the_page(client_as(admin)).content.decode()).group(0)
    entry = AuditEntry.objects.get(object_type="apitoken", action="create")
    assert entry.actor == admin
    assert raw not in str(entry.changes) and raw not in entry.message


def test_a_token_needs_a_name(client_as, admin):
    response = client_as(admin).post("/accounts/tokens/new/", {"name": "  "})
    assert "This field is required." in response.content.decode()
    assert not ApiToken.objects.exists()


def test_an_expiry_in_the_past_is_refused(client_as, admin):
    yesterday = timezone.localdate() - datetime.timedelta(days=1)
    response = _create_on_the_page(client_as(admin), expires_on=yesterday.isoformat())
    assert "Choose today or a later day." in response.content.decode()
    assert not ApiToken.objects.exists()


def test_a_token_expires_at_the_end_of_the_chosen_day_in_the_users_time_zone(client_as, admin):
    admin.timezone = "Asia/Tokyo"
    admin.save()
    day = datetime.date(2099, 3, 1)
    _create_on_the_page(client_as(admin), expires_on=day.isoformat())
    expires = ApiToken.objects.get().expires_at
    assert expires == datetime.datetime(2099, 3, 1, 15, 0, tzinfo=datetime.UTC)  # Tokyo midnight


def test_revoking_a_token_stops_it_at_once(client_as, admin):
    raw = make_token(admin)
    token = ApiToken.objects.get()
    response = client_as(admin).post(f"/accounts/tokens/{token.pk}/revoke/")
    assert response.status_code == 302
    refused = Api(raw).get("/api/cp/customer")
    assert refused.status_code == 401
    assert refused.json()["detail"] == Refusal.REVOKED
    assert AuditEntry.objects.filter(action="delete", object_type="apitoken").exists()


def test_nobody_revokes_someone_elses_token(client_as, admin, outsider):
    raw = make_token(admin)
    token = ApiToken.objects.get()
    assert client_as(outsider).post(f"/accounts/tokens/{token.pk}/revoke/").status_code == 404
    assert Api(raw).get("/api/cp/customer").status_code == 200


def test_revoking_needs_a_post(client_as, admin):
    make_token(admin)
    token = ApiToken.objects.get()
    assert client_as(admin).get(f"/accounts/tokens/{token.pk}/revoke/").status_code == 405


def test_the_number_of_active_tokens_is_limited(client_as, admin):
    for n in range(MAX_ACTIVE_TOKENS):
        make_token(admin, name=f"t{n}")
    response = _create_on_the_page(client_as(admin))
    assert "revoke one you no longer use" in response.content.decode()
    assert ApiToken.objects.count() == MAX_ACTIVE_TOKENS


def test_a_token_does_not_open_pages_or_make_tokens(admin):
    api = Api(make_token(admin))
    assert api.get("/customers/").status_code == 302  # to the sign-in page
    assert api.post("/accounts/tokens/new/", {"name": "x"}).status_code in (302, 403)
    assert ApiToken.objects.count() == 1


# --- Signing in with a token ---------------------------------------------------------------


@pytest.mark.parametrize(
    "header",
    [
        "Bearer cp_0123456789ab_" + "x" * 43,  # well formed, unknown
        "Bearer not-a-token",
        "Bearer ",
    ],
)
def test_an_invalid_token_is_a_401(header, admin):
    response = Client().get("/api/cp/customer", HTTP_AUTHORIZATION=header)
    assert response.status_code == 401
    assert response.json() == {"detail": Refusal.INVALID}
    assert "Bearer" in response["WWW-Authenticate"]


def test_a_known_prefix_with_the_wrong_secret_is_invalid(admin):
    raw = make_token(admin)
    forged = raw[:-4] + ("AAAA" if not raw.endswith("AAAA") else "BBBB")
    response = Api(forged).get("/api/cp/customer")
    assert response.status_code == 401
    assert response.json()["detail"] == Refusal.INVALID


def test_an_expired_token_is_a_401(admin):
    raw = make_token(admin)
    ApiToken.objects.update(expires_at=timezone.now() - datetime.timedelta(seconds=1))
    response = Api(raw).get("/api/cp/customer")
    assert response.status_code == 401
    assert response.json()["detail"] == Refusal.EXPIRED


def test_a_deactivated_owners_token_is_a_401(admin, staff):
    raw = make_token(staff)
    staff.is_active = False
    staff.save()
    response = Api(raw).get("/api/cp/routing")
    assert response.status_code == 401
    assert response.json()["detail"] == Refusal.INACTIVE_OWNER


def test_without_credentials_the_api_answers_401(db):
    response = Client().get("/api/cp/customer")
    assert response.status_code == 401
    assert "detail" in response.json()


def test_a_token_acts_with_its_owners_current_permissions(staff, staff_group):
    api = Api(make_token(staff))
    assert api.get("/api/cp/routing").status_code == 200
    assert api.get("/api/cp/customer").status_code == 403
    staff.access_groups.clear()
    assert api.get("/api/cp/routing").status_code == 403


def test_a_read_only_token_reads_but_never_writes(admin):
    api = Api(make_token(admin, read_only=True))
    assert api.get("/api/cp/customer").status_code == 200
    for method, path in (
        ("POST", "/api/cp/customer"),
        ("PATCH", f"/api/cp/user/{admin.pk}"),
        ("DELETE", f"/api/cp/user/{admin.pk}"),
    ):
        response = api.call(method, path, {"name": "x"})
        assert response.status_code == 403
        assert response.json()["detail"] == Refusal.READ_ONLY
        assert response.json()["action"] in ("create", "update", "delete")
    assert AuditEntry.objects.filter(action="refused", message__contains="read-only").count() == 3
    admin.refresh_from_db()
    assert admin.name == "Ada Admin"


def test_the_last_use_is_written_at_most_once_a_minute(admin):
    api = Api(make_token(admin))
    assert api.get("/api/cp/customer").status_code == 200
    token = ApiToken.objects.get()
    assert token.last_used_at is not None
    assert token.last_used_address == "127.0.0.1"
    with CaptureQueriesContext(connection) as queries:
        assert api.get("/api/cp/customer").status_code == 200
    writes = [q["sql"] for q in queries if q["sql"].startswith("UPDATE") and "apitoken" in q["sql"]]
    assert writes == []
    a_while_ago = timezone.now() - datetime.timedelta(minutes=2)
    ApiToken.objects.update(last_used_at=a_while_ago)
    api.get("/api/cp/customer")
    assert ApiToken.objects.get().last_used_at > a_while_ago


def test_a_token_obeys_its_owners_ip_whitelist(admin):
    admin.ip_whitelist = stored_whitelist(parse_whitelist(["10.1.2."]))
    admin.save()
    raw = make_token(admin)
    refused = Api(raw, address="192.0.2.7").get("/api/cp/customer")
    assert refused.status_code == 403
    assert "address" in refused.json()["detail"]
    assert AuditEntry.objects.filter(action="whitelist block", actor=admin).exists()
    assert Api(raw, address="10.1.2.99").get("/api/cp/customer").status_code == 200


# --- CSRF ----------------------------------------------------------------------------------


def test_a_session_api_write_needs_the_csrf_token(admin):
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin)
    refused = Api(client=client).post(
        "/api/cp/carrier", {"name": "X", "contact_email": "x@x.example"}
    )
    assert refused.status_code == 403
    assert "CSRF" in refused.json()["detail"]
    client.get("/accounts/tokens/")  # any page sets the CSRF cookie
    csrf = client.cookies["csrftoken"].value
    allowed = Api(client=client).post(
        "/api/cp/carrier", {"name": "X", "contact_email": "x@x.example"}, HTTP_X_CSRFTOKEN=csrf
    )
    assert allowed.status_code == 201


def test_a_session_api_read_needs_no_csrf_token(admin):
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin)
    assert Api(client=client).get("/api/cp/carrier").status_code == 200


def test_a_token_write_needs_no_csrf_token(admin):
    api = Api(make_token(admin), client=Client(enforce_csrf_checks=True))
    response = api.post("/api/cp/carrier", {"name": "X", "contact_email": "x@x.example"})
    assert response.status_code == 201


def test_a_token_request_starts_no_session(admin):
    api = Api(make_token(admin))
    response = api.get("/api/cp/customer")
    assert response.status_code == 200
    assert "sessionid" not in response.cookies
    assert not Session.objects.exists()
    assert not UserSession.objects.exists()


def test_with_2fa_required_an_admin_token_without_a_device_is_refused_and_starts_no_session(
    admin, settings
):
    settings.OTP_REQUIRED_FOR_ADMINS = True
    api = Api(make_token(admin))
    response = api.get("/api/cp/customer")
    assert response.status_code == 403
    assert "two-factor" in response.json()["detail"]
    assert not Session.objects.exists()
