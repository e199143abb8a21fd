import re

import pytest
from django.urls import reverse

from accounts.forms import INVALID_LOGIN
from controlpanel.audit.models import AuditEntry

pytestmark = pytest.mark.django_db

LOGIN = "/accounts/login/"


def test_staff_signs_in_with_email_in_any_case_and_lands_on_dashboard(client, staff, password):
    response = client.post(LOGIN, {"email": "SAM@Example.com", "password": password})
    assert response.status_code == 302
    assert response["Location"] == "/"
    page = client.get("/")
    assert "Welcome, Sam Staff" in page.content.decode()
    assert AuditEntry.objects.filter(action="login", actor=staff).exists()


def _normalised(response, email: str) -> str:
    body = response.content.decode().replace(email, "EMAIL")
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "CSRF", body)


def test_wrong_password_and_unknown_email_give_the_same_answer(client, staff):
    wrong = client.post(LOGIN, {"email": staff.email, "password": "not the password"})
    unknown = client.post(LOGIN, {"email": "nobody@example.com", "password": "not the password"})
    assert wrong.status_code == unknown.status_code == 200
    assert INVALID_LOGIN in wrong.content.decode()
    assert _normalised(wrong, staff.email) == _normalised(unknown, "nobody@example.com")


def test_inactive_user_gets_the_same_message_as_a_wrong_password(client, staff, password):
    staff.is_active = False
    staff.save()
    response = client.post(LOGIN, {"email": staff.email, "password": password})
    assert INVALID_LOGIN in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_failed_login_is_audited_with_the_attempted_email(client, staff):
    client.post(LOGIN, {"email": staff.email, "password": "nope nope nope"})
    entry = AuditEntry.objects.get(action="login failed")
    assert entry.actor_label == staff.email
    assert entry.address == "127.0.0.1"


def test_login_ignores_an_offsite_next_url(client, staff, password):
    response = client.post(
        LOGIN + "?next=https://evil.example/", {"email": staff.email, "password": password}
    )
    assert response["Location"] == "/"


def test_login_follows_a_local_next_url(client, staff, password):
    response = client.post(
        LOGIN, {"email": staff.email, "password": password, "next": "/accounts/profile/"}
    )
    assert response["Location"] == "/accounts/profile/"


def test_anonymous_visitor_is_sent_to_login(client, db):
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


def test_logout_needs_post(client_as, staff):
    client = client_as(staff)
    assert client.get("/accounts/logout/").status_code == 405
    response = client.post("/accounts/logout/")
    assert response.status_code == 302
    assert client.get("/").status_code == 302


def test_login_rotates_the_session_key(client, staff, password):
    client.get(LOGIN)
    client.cookies["sessionid"] = "attacker-chosen"
    client.post(LOGIN, {"email": staff.email, "password": password})
    assert client.cookies["sessionid"].value != "attacker-chosen"
