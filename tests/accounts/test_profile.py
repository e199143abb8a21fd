import datetime

import pytest
from django.utils import timezone

pytestmark = pytest.mark.django_db


def test_profile_shows_the_address_the_panel_sees(client_as, outsider):
    page = client_as(outsider).get("/accounts/profile/", REMOTE_ADDR="203.0.113.9")
    assert page.status_code == 200
    assert "203.0.113.9" in page.content.decode()


def test_user_changes_own_name_and_time_zone(client_as, outsider):
    client = client_as(outsider)
    response = client.post("/accounts/profile/", {"name": "Olly O.", "timezone": "Asia/Tokyo"})
    assert response.status_code == 302
    outsider.refresh_from_db()
    assert (outsider.name, outsider.timezone) == ("Olly O.", "Asia/Tokyo")


def test_unknown_time_zone_is_refused_with_the_field_named(client_as, outsider):
    response = client_as(outsider).post(
        "/accounts/profile/", {"name": "x", "timezone": "Mars/Olympus"}
    )
    assert response.status_code == 200
    assert "Time zone:" in response.content.decode()
    outsider.refresh_from_db()
    assert outsider.timezone == "UTC"


def test_profile_form_cannot_change_role_or_whitelist(client_as, outsider):
    client_as(outsider).post(
        "/accounts/profile/",
        {"name": "x", "timezone": "UTC", "role": "administrator", "ip_whitelist": "[]"},
    )
    outsider.refresh_from_db()
    assert outsider.role == "user"


def test_timestamps_are_shown_in_the_viewers_time_zone(client_as, outsider):
    outsider.timezone = "Asia/Tokyo"
    outsider.last_login = datetime.datetime(2026, 1, 1, 23, 30, tzinfo=datetime.UTC)
    outsider.save()
    page = client_as(outsider).get("/").content.decode()
    # force_login updates last_login; compare with the stored value in Tokyo time
    outsider.refresh_from_db()
    tokyo = timezone.localtime(
        outsider.last_login, timezone=datetime.timezone(datetime.timedelta(hours=9))
    )
    assert tokyo.strftime("%Y-%m-%d %H:%M") in page
    assert "Asia/Tokyo" in page


def test_own_password_change_needs_the_current_password(client_as, outsider, password):
    client = client_as(outsider)
    new = "a much longer passphrase 2026"
    refused = client.post(
        "/accounts/profile/password/",
        {"old_password": "wrong wrong wrong", "new_password1": new, "new_password2": new},
    )
    assert refused.status_code == 200
    outsider.refresh_from_db()
    assert outsider.check_password(password)
    accepted = client.post(
        "/accounts/profile/password/",
        {"old_password": password, "new_password1": new, "new_password2": new},
    )
    assert accepted.status_code == 302
    outsider.refresh_from_db()
    assert outsider.check_password(new)
    assert client.get("/accounts/profile/").status_code == 200  # this session survives


def test_short_or_common_new_passwords_are_refused_with_the_validator_message(
    client_as, outsider, password
):
    response = client_as(outsider).post(
        "/accounts/profile/password/",
        {"old_password": password, "new_password1": "password", "new_password2": "password"},
    )
    body = response.content.decode()
    assert "at least 12 characters" in body
    assert "too common" in body


def test_password_change_ends_other_sessions(client, outsider, password, django_user_model):
    from django.test import Client

    other = Client()
    other.force_login(outsider)
    client.force_login(outsider)
    new = "a much longer passphrase 2026"
    client.post(
        "/accounts/profile/password/",
        {"old_password": password, "new_password1": new, "new_password2": new},
    )
    assert other.get("/").status_code == 302
