"""Sessions: rotated at login, listed on the profile, ended one by one or all at once,
ended by every credential change, and idle-timed without a write on every request."""

import time
from unittest import mock

import pytest
from django.contrib.sessions.models import Session
from django.test import Client

from accounts import sessions
from accounts.models import UserSession
from accounts.services import user_change_own_password

pytestmark = pytest.mark.django_db

LOGIN = "/accounts/login/"
PROFILE = "/accounts/profile/"
FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
SAFARI_IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1"
)


def signed_in(user, password, *, address="203.0.113.10", agent=FIREFOX) -> Client:
    client = Client(REMOTE_ADDR=address, HTTP_USER_AGENT=agent)
    assert client.post(LOGIN, {"email": user.email, "password": password}).status_code == 302
    return client


def is_signed_in(client) -> bool:
    return client.get(PROFILE).status_code == 200


def test_login_rotates_the_session_key(client, staff, password):
    client.get(LOGIN)
    client.cookies["sessionid"] = "attacker-chosen-key"
    client.post(LOGIN, {"email": staff.email, "password": password})
    assert client.cookies["sessionid"].value != "attacker-chosen-key"
    assert UserSession.objects.get(user=staff).session_key == client.cookies["sessionid"].value


def test_profile_lists_sessions_with_address_browser_and_last_seen(staff, password):
    laptop = signed_in(staff, password, address="203.0.113.10", agent=FIREFOX)
    signed_in(staff, password, address="198.51.100.20", agent=SAFARI_IPHONE)
    page = laptop.get(PROFILE).content.decode()
    assert "203.0.113.10" in page and "198.51.100.20" in page
    assert "Firefox on Linux" in page and "Safari on iOS" in page
    assert page.count("this session") == 1
    assert UserSession.objects.filter(user=staff).count() == 2


def test_ending_one_session_signs_that_browser_out(staff, password):
    laptop = signed_in(staff, password)
    phone = signed_in(staff, password, address="198.51.100.20", agent=SAFARI_IPHONE)
    record = UserSession.objects.get(user=staff, address="198.51.100.20")
    response = laptop.post(f"/accounts/profile/sessions/{record.pk}/end/")
    assert response.status_code == 302
    assert not is_signed_in(phone)
    assert is_signed_in(laptop)
    assert not Session.objects.filter(session_key=record.session_key).exists()
    assert not UserSession.objects.filter(pk=record.pk).exists()


def test_ending_this_session_signs_out(staff, password):
    laptop = signed_in(staff, password)
    record = UserSession.objects.get(user=staff)
    response = laptop.post(f"/accounts/profile/sessions/{record.pk}/end/")
    assert response["Location"].startswith(LOGIN)
    assert not is_signed_in(laptop)


def test_nobody_can_end_someone_elses_session(staff, outsider, password):
    signed_in(staff, password)
    record = UserSession.objects.get(user=staff)
    intruder = Client()
    intruder.force_login(outsider)
    assert intruder.post(f"/accounts/profile/sessions/{record.pk}/end/").status_code == 404
    assert Session.objects.filter(session_key=record.session_key).exists()


def test_ending_all_other_sessions_keeps_this_one(staff, password):
    laptop = signed_in(staff, password)
    phone = signed_in(staff, password, agent=SAFARI_IPHONE)
    unrecorded = Client()
    unrecorded.force_login(staff)
    UserSession.objects.filter(session_key=unrecorded.session.session_key).delete()
    assert laptop.post("/accounts/profile/sessions/end-others/").status_code == 302
    assert is_signed_in(laptop)
    assert not is_signed_in(phone)
    assert not is_signed_in(unrecorded)  # even one the list did not know about
    assert UserSession.objects.filter(user=staff).count() == 1


def test_logout_ends_the_session_and_its_record(staff, password):
    laptop = signed_in(staff, password)
    laptop.post("/accounts/logout/")
    assert not UserSession.objects.filter(user=staff).exists()
    assert not is_signed_in(laptop)


def test_own_password_change_ends_the_other_sessions(staff, password):
    laptop = signed_in(staff, password)
    phone = signed_in(staff, password, agent=SAFARI_IPHONE)
    new = "a fresh passphrase for 2026"
    laptop.post(
        "/accounts/profile/password/",
        {"old_password": password, "new_password1": new, "new_password2": new},
    )
    assert is_signed_in(laptop)
    assert not is_signed_in(phone)
    listed = laptop.get(PROFILE).content.decode()
    assert "Safari on iOS" not in listed  # the dead session left the list


def test_password_set_by_an_administrator_ends_every_session(staff, admin, password):
    from permissions.user_services import user_set_password

    phone = signed_in(staff, password)
    user_set_password(user=staff, password="set by the administrator 2026", actor=admin)
    assert not is_signed_in(phone)


def test_deactivation_ends_every_session(staff, admin, password):
    from permissions.user_services import user_deactivate

    phone = signed_in(staff, password)
    user_deactivate(user=staff, actor=admin)
    assert not is_signed_in(phone)


def test_demotion_ends_every_session(admin, password):
    from permissions.user_services import user_update
    from tests.factories import AdminFactory

    other_admin = AdminFactory(email="second@example.com")
    phone = signed_in(other_admin, password)
    user_update(user=other_admin, role="user", actor=admin)
    assert not is_signed_in(phone)


def test_email_change_ends_every_session(staff, admin, password):
    from permissions.user_services import user_update

    phone = signed_in(staff, password)
    user_update(user=staff, email="sam.elsewhere@example.com", actor=admin)
    assert not is_signed_in(phone)


def test_end_sessions_on_the_model_ends_them(staff, password):
    phone = signed_in(staff, password)
    staff.end_sessions()
    staff.save()
    assert not is_signed_in(phone)


def test_a_recent_session_is_not_written_on_each_request(staff, password):
    laptop = signed_in(staff, password)
    record = UserSession.objects.get(user=staff)
    expiry = Session.objects.get(session_key=record.session_key).expire_date
    for _ in range(3):
        response = laptop.get(PROFILE)
        assert "sessionid" not in response.cookies  # the session was not saved
    assert UserSession.objects.get(pk=record.pk).last_seen == record.last_seen
    assert Session.objects.get(session_key=record.session_key).expire_date == expiry


def test_activity_after_the_interval_extends_the_idle_expiry(staff, password, settings):
    laptop = signed_in(staff, password)
    record = UserSession.objects.get(user=staff)
    expiry = Session.objects.get(session_key=record.session_key).expire_date
    later = time.time() + settings.SESSION_TOUCH_INTERVAL + 1
    with mock.patch("accounts.sessions.time.time", return_value=later):
        response = laptop.get(PROFILE, REMOTE_ADDR="203.0.113.99")
    assert "sessionid" in response.cookies  # saved, so its expiry moved on
    assert Session.objects.get(session_key=record.session_key).expire_date > expiry
    touched = UserSession.objects.get(pk=record.pk)
    assert touched.last_seen > record.last_seen
    assert touched.address == "203.0.113.99"


def test_an_idle_session_expires(staff, password):
    from django.utils import timezone

    laptop = signed_in(staff, password)
    key = UserSession.objects.get(user=staff).session_key
    Session.objects.filter(session_key=key).update(expire_date=timezone.now())
    assert not is_signed_in(laptop)


def test_browser_labels_read_common_user_agents():
    assert sessions.browser_label(FIREFOX) == "Firefox on Linux"
    assert sessions.browser_label(SAFARI_IPHONE) == "Safari on iOS"
    assert sessions.browser_label("curl/8.5.0") == "curl"
    assert sessions.browser_label("") == "Unknown browser"


def test_own_password_service_keeps_working_without_a_request(staff):
    user_change_own_password(user=staff, new_password="yet another passphrase 2026", address=None)
    staff.refresh_from_db()
    assert staff.check_password("yet another passphrase 2026")
