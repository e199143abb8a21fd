"""Two-factor sign-in: enrolment with a QR code, the two-step login, recovery codes,
turning it off, and the administrators-must-enrol setting."""

import re
import time
from unittest import mock

import pytest
from axes.utils import reset as axes_reset
from django.core import mail
from django.test import Client
from django.utils import timezone
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp import models as totp_models
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import two_factor
from controlpanel.audit.models import AuditEntry

pytestmark = pytest.mark.django_db

LOGIN = "/accounts/login/"
CODE = "/accounts/login/code/"
SETUP = "/accounts/profile/two-factor/setup/"
MANAGE = "/accounts/profile/two-factor/"


class Clock:
    """The authenticator app's and the server's clock, moved on by hand."""

    def __init__(self):
        self.now = time.time()

    def time(self):
        return self.now

    def tick(self, seconds=30):
        self.now += seconds


@pytest.fixture
def clock(monkeypatch):
    clock = Clock()
    monkeypatch.setattr(totp_models, "time", clock)
    return clock


@pytest.fixture(autouse=True)
def _no_lockouts_carried_over(db):
    axes_reset()
    yield
    axes_reset()


def app_code(device, clock) -> str:
    """What the user's authenticator app shows now."""
    device.refresh_from_db()
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = clock.now
    return f"{totp.token():0{device.digits}d}"


def enrol(client, user, clock) -> list[str]:
    client.get(SETUP)
    device = TOTPDevice.objects.get(user=user, confirmed=False)
    page = client.post(SETUP, {"code": app_code(device, clock)})
    assert page.status_code == 200
    clock.tick()  # the next code the app shows
    return re.findall(r"<li><code>([a-z2-7]{8})</code></li>", page.content.decode())


def wait_out_the_back_off(user):
    TOTPDevice.objects.filter(user=user).update(
        throttling_failure_timestamp=timezone.now() - timezone.timedelta(seconds=60)
    )


def password_step(client, user, password, **extra):
    return client.post(LOGIN, {"email": user.email, "password": password}, **extra)


@pytest.fixture
def enrolled(client_as, staff, clock):
    """Sam has turned two-factor sign-in on; returns the recovery codes."""
    codes = enrol(client_as(staff), staff, clock)
    client_as(staff).logout()
    return codes


# --- Enrolment --------------------------------------------------------------------------


def test_setup_page_shows_a_qr_code_as_inline_svg_without_script(client_as, staff):
    page = client_as(staff).get(SETUP)
    body = page.content.decode()
    assert page.status_code == 200
    assert "<svg" in body and "<script" not in body
    assert re.search(r'<code class="secret">([A-Z2-7]{4} ?)+</code>', body)


def test_setup_keeps_the_same_key_across_page_loads(client_as, staff):
    client = client_as(staff)
    first = re.search(r'class="secret">([^<]+)<', client.get(SETUP).content.decode()).group(1)
    second = re.search(r'class="secret">([^<]+)<', client.get(SETUP).content.decode()).group(1)
    assert first == second


def test_enrolment_confirms_with_a_code_and_shows_ten_recovery_codes_once(client_as, staff, clock):
    client = client_as(staff)
    codes = enrol(client, staff, clock)
    assert len(codes) == 10 and len(set(codes)) == 10
    assert two_factor.is_enabled(staff)
    manage = client.get(MANAGE).content.decode()
    assert "Recovery codes left: <strong>10</strong>" in manage
    assert not any(code in manage for code in codes)
    assert AuditEntry.objects.filter(action="2fa enabled", actor=staff).exists()


def test_a_wrong_code_does_not_turn_it_on(client_as, staff, clock):
    client = client_as(staff)
    client.get(SETUP)
    response = client.post(SETUP, {"code": "000000"})
    assert response.status_code == 200
    assert two_factor.WRONG_CODE in response.content.decode()
    assert not two_factor.is_enabled(staff)


def test_enrolment_is_self_service_only(client):
    assert client.get(SETUP).status_code == 302  # to login


# --- Signing in -------------------------------------------------------------------------


def test_password_step_does_not_sign_in_before_the_code(client, staff, password, enrolled):
    response = password_step(client, staff, password)
    assert response.status_code == 302
    assert response["Location"] == CODE
    assert "_auth_user_id" not in client.session
    assert client.get("/accounts/profile/").status_code == 302  # still anonymous


def test_the_code_step_signs_in_and_rotates_the_session_key(
    client, staff, password, enrolled, clock
):
    password_step(client, staff, password)
    pending_key = client.cookies["sessionid"].value
    device = TOTPDevice.objects.get(user=staff)
    response = client.post(CODE, {"code": app_code(device, clock)})
    assert response.status_code == 302
    assert response["Location"] == "/"
    assert client.session["_auth_user_id"] == str(staff.pk)
    assert client.cookies["sessionid"].value != pending_key
    assert AuditEntry.objects.filter(action="login", actor=staff).exists()


def test_the_code_step_follows_a_local_next_url(client, staff, password, enrolled, clock):
    client.post(LOGIN, {"email": staff.email, "password": password, "next": "/accounts/profile/"})
    device = TOTPDevice.objects.get(user=staff)
    response = client.post(CODE, {"code": app_code(device, clock)})
    assert response["Location"] == "/accounts/profile/"


def test_a_code_is_accepted_only_once(client, staff, password, enrolled, clock):
    device = TOTPDevice.objects.get(user=staff)
    code = app_code(device, clock)
    password_step(client, staff, password)
    assert client.post(CODE, {"code": code}).status_code == 302
    other = Client()
    password_step(other, staff, password)
    replay = other.post(CODE, {"code": code})
    assert replay.status_code == 200
    assert "_auth_user_id" not in other.session


def test_wrong_codes_are_throttled_and_then_send_back_to_the_password(
    client, staff, password, enrolled, clock
):
    password_step(client, staff, password)
    wrong = client.post(CODE, {"code": "000000"})
    assert two_factor.WRONG_CODE in wrong.content.decode()
    # straight after a wrong code even the right one waits (django-otp's back-off)
    device = TOTPDevice.objects.get(user=staff)
    assert client.post(CODE, {"code": app_code(device, clock)}).status_code == 200
    for _ in range(two_factor.MAX_CODE_ATTEMPTS - 2):
        response = client.post(CODE, {"code": "000000"})
    assert response.status_code == 302
    assert response["Location"] == LOGIN
    assert client.get(CODE)["Location"] == LOGIN  # the pending sign-in is gone


def test_recovery_code_signs_in_once(client, staff, password, enrolled):
    password_step(client, staff, password)
    response = client.post(CODE, {"code": enrolled[0].upper()}, follow=True)
    assert "You used a recovery code; 9 left" in response.content.decode()
    client.post("/accounts/logout/")
    password_step(client, staff, password)
    again = client.post(CODE, {"code": enrolled[0]})
    assert again.status_code == 200
    assert StaticToken.objects.filter(device__user=staff).count() == 9


def test_the_code_step_without_a_password_step_goes_to_login(client, db):
    response = client.get(CODE)
    assert response.status_code == 302 and response["Location"] == LOGIN


def test_the_pending_sign_in_expires(client, staff, password, enrolled, clock, settings):
    password_step(client, staff, password)
    device = TOTPDevice.objects.get(user=staff)
    later = time.time() + settings.OTP_LOGIN_TIMEOUT + 5
    with mock.patch("django.core.signing.time.time", return_value=later):
        response = client.post(CODE, {"code": app_code(device, clock)})
    assert response.status_code == 302 and response["Location"] == LOGIN
    assert "_auth_user_id" not in client.session


def test_a_forged_pending_marker_is_refused(client, staff, admin, password, enrolled):
    from django.core import signing

    password_step(client, staff, password)
    session = client.session
    session[two_factor.PENDING_KEY] = signing.dumps(
        {
            "user": admin.pk,
            "auth": admin.get_session_auth_hash(),
            "next": "/",
            "backend": "accounts.backends.EmailBackend",
        },
        key="a key the attacker guessed",
        salt=two_factor.PENDING_SALT,
    )
    session.save()
    assert client.get(CODE)["Location"] == LOGIN


def test_a_password_change_in_between_voids_the_pending_sign_in(
    client, staff, password, enrolled, clock
):
    password_step(client, staff, password)
    staff.set_password("changed in the meantime 2026")
    staff.save()
    device = TOTPDevice.objects.get(user=staff)
    response = client.post(CODE, {"code": app_code(device, clock)})
    assert response["Location"] == LOGIN
    assert "_auth_user_id" not in client.session


def test_a_wrong_password_never_reaches_the_code_step(client, staff, enrolled):
    response = password_step(client, staff, "not the password at all")
    assert response.status_code == 200
    assert two_factor.PENDING_KEY not in client.session


# --- Recovery codes and turning it off --------------------------------------------------


def test_new_recovery_codes_need_proof_and_replace_the_old_ones(
    client_as, staff, password, enrolled
):
    client = client_as(staff)
    refused = client.post("/accounts/profile/two-factor/recovery-codes/", {"password": "nope"})
    assert refused.status_code == 400
    made = client.post("/accounts/profile/two-factor/recovery-codes/", {"password": password})
    codes = re.findall(r"<li><code>([a-z2-7]{8})</code></li>", made.content.decode())
    assert len(codes) == 10 and not set(codes) & set(enrolled)
    assert set(StaticToken.objects.values_list("token", flat=True)) == set(codes)


def test_turning_it_off_needs_a_code_or_the_password(client_as, staff, password, enrolled, clock):
    client = client_as(staff)
    empty = client.post("/accounts/profile/two-factor/disable/", {})
    assert empty.status_code == 400
    assert two_factor.NEEDS_PROOF in empty.content.decode()
    wrong = client.post("/accounts/profile/two-factor/disable/", {"code": "123456"})
    assert wrong.status_code == 400
    assert two_factor.is_enabled(staff)
    wait_out_the_back_off(staff)
    device = TOTPDevice.objects.get(user=staff)
    ok = client.post("/accounts/profile/two-factor/disable/", {"code": app_code(device, clock)})
    assert ok.status_code == 302
    assert not two_factor.is_enabled(staff)
    assert password_step(Client(), staff, password).status_code == 302  # one step again


def test_turning_it_off_ends_other_sessions_and_tells_the_user(
    client_as, staff, password, enrolled
):
    staff.email_verified_at = timezone.now()
    staff.save()
    other = Client()
    other.force_login(staff)
    client = client_as(staff)
    client.post("/accounts/profile/two-factor/disable/", {"password": password})
    assert other.get("/accounts/profile/").status_code == 302
    assert client.get("/accounts/profile/").status_code == 200
    assert any("turned off" in message.subject for message in mail.outbox)


# --- Administrators must enrol ----------------------------------------------------------


@pytest.fixture
def required(settings):
    settings.OTP_REQUIRED_FOR_ADMINS = True


def test_administrator_without_a_device_is_sent_to_enrolment(client_as, admin, required):
    client = client_as(admin)
    for path in ("/", "/accounts/profile/", "/settings/users/"):
        response = client.get(path)
        assert response.status_code == 302, path
        assert response["Location"] == SETUP
    assert client.get(SETUP).status_code == 200
    assert client.get(MANAGE).status_code == 200


def test_administrator_can_still_sign_out_before_enrolling(client_as, admin, required):
    client = client_as(admin)
    assert client.post("/accounts/logout/").status_code == 302
    assert "_auth_user_id" not in client.session


def test_api_answers_403_json_until_the_administrator_enrols(admin, required, rf):
    from accounts.middleware import TwoFactorRequiredMiddleware
    from controlpanel.kit.declarations import api_area

    request = rf.get("/api/cp/customer")
    request.user = admin
    request.session = {}
    view = api_area("customer")(lambda request: None)
    response = TwoFactorRequiredMiddleware(lambda r: None).process_view(request, view, (), {})
    assert response.status_code == 403
    assert b"two-factor" in response.content


def test_after_enrolling_the_administrator_uses_the_panel(client_as, admin, required, clock):
    client = client_as(admin)
    enrol(client, admin, clock)
    assert client.get("/").status_code == 200


def test_requirement_leaves_other_users_alone(client_as, staff, required):
    assert client_as(staff).get("/accounts/profile/").status_code == 200


def test_administrator_cannot_turn_it_off_while_required(
    client_as, admin, password, required, clock
):
    client = client_as(admin)
    enrol(client, admin, clock)
    response = client.post("/accounts/profile/two-factor/disable/", {"password": password})
    assert response.status_code == 302
    assert two_factor.is_enabled(admin)
