"""Optional two-factor sign-in (TOTP) with single-use recovery codes, on django-otp.

- Enrolment: an unconfirmed ``TOTPDevice`` is shown as a QR code (inline SVG made by
  segno: no external call) and becomes confirmed when the user types a code from it.
  Ten recovery codes (a ``StaticDevice``) are then shown once.
- Sign-in: when the password is right and the user has a confirmed device, the login
  page does not sign them in. It stores a signed, short-lived marker naming the user in
  the session and asks for a code; only a valid code signs them in.
- Throttling: django-otp's per-device exponential back-off (1, 2, 4 … seconds after
  each wrong code), plus at most ``MAX_CODE_ATTEMPTS`` codes per password step.
- ``OTP_REQUIRED_FOR_ADMINS``: administrators without a device are sent to enrolment
  and can use nothing else until enrolled (``accounts.middleware``).
- Disabling, or making new recovery codes, needs a current code or the password.
"""

from __future__ import annotations

import re
from base64 import b32encode
from dataclasses import dataclass

import segno
from django.conf import settings
from django.core import signing
from django.db import transaction
from django.utils.crypto import constant_time_compare
from django_otp import devices_for_user, user_has_device
from django_otp import verify_token as otp_verify_token
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from controlpanel.audit import log as audit
from controlpanel.kit.client_ip import client_ip

from . import lifecycle, sessions
from .models import Passkey, User

PENDING_KEY = "_accounts_2fa_pending"
ATTEMPTS_KEY = "_accounts_2fa_attempts"
ENROLLED_KEY = "_accounts_2fa_enrolled"
PENDING_SALT = "accounts.two_factor.pending"
MAX_CODE_ATTEMPTS = 5
RECOVERY_CODE_COUNT = 10
DEVICE_NAME = "Authenticator app"

TWO_FACTOR_ENABLED = audit.Action.TWO_FACTOR_ENABLED
TWO_FACTOR_DISABLED = audit.Action.TWO_FACTOR_DISABLED
RECOVERY_CODES_MADE = audit.Action.RECOVERY_CODES_MADE
TWO_FACTOR_RESET = audit.Action.TWO_FACTOR_RESET

WRONG_CODE = "That code is not right, or it has been used. Try the next code from your app."
NEEDS_PROOF = "Enter a current code from your app, a recovery code, or your password."
WRONG_PROOF = "That code or password is not right; nothing was changed."

_TOTP_FORMAT = re.compile(r"^\d{6}$")


def normalise_code(raw: str) -> str:
    """Codes are typed with spaces or dashes at times; recovery codes are lower case."""
    return re.sub(r"[\s-]", "", raw or "").lower()


def pending_timeout() -> int:
    return int(getattr(settings, "OTP_LOGIN_TIMEOUT", 300))


def is_enabled(user: User) -> bool:
    return user_has_device(user, confirmed=True)


def required_for(user: User) -> bool:
    return bool(getattr(settings, "OTP_REQUIRED_FOR_ADMINS", False)) and user.is_administrator


def recovery_codes_left(user: User) -> int:
    return StaticToken.objects.filter(device__user=user, device__confirmed=True).count()


@dataclass(frozen=True)
class Status:
    enabled: bool
    recovery_codes_left: int
    required: bool


def status(user: User) -> Status:
    enabled = is_enabled(user)
    return Status(
        enabled=enabled,
        recovery_codes_left=recovery_codes_left(user) if enabled else 0,
        required=required_for(user),
    )


# --- Enrolment -------------------------------------------------------------------------


def pending_device(user: User) -> TOTPDevice:
    """The device being set up: reused across page loads so the QR code stays put."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("pk").first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name=DEVICE_NAME, confirmed=False)
    return device


def qr_svg(device: TOTPDevice) -> str:
    """The otpauth:// URL as an inline SVG (no script, no external image)."""
    return segno.make(device.config_url, error="m").svg_inline(
        scale=5, dark="#000", light="#fff", border=2, omitsize=True
    )


def secret_text(device: TOTPDevice) -> str:
    """The key in base32, grouped by four, for typing into an app by hand."""
    key = b32encode(device.bin_key).decode().rstrip("=")
    return " ".join(key[i : i + 4] for i in range(0, len(key), 4))


def _new_recovery_codes(user: User) -> list[str]:
    StaticDevice.objects.filter(user=user).delete()
    device = StaticDevice.objects.create(user=user, name="Recovery codes", confirmed=True)
    codes = [StaticToken.random_token() for _ in range(RECOVERY_CODE_COUNT)]
    StaticToken.objects.bulk_create([StaticToken(device=device, token=code) for code in codes])
    return codes


@transaction.atomic
def two_factor_confirm(*, user: User, code: str, request) -> list[str] | None:
    """Confirm the pending device with a code from it. Returns the recovery codes (to
    be shown once), or None when the code is wrong."""
    device = TOTPDevice.objects.select_for_update().filter(user=user, confirmed=False).first()
    if device is None or not device.verify_token(normalise_code(code)):
        return None
    TOTPDevice.objects.filter(user=user).exclude(pk=device.pk).delete()
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    codes = _new_recovery_codes(user)
    request.session[ENROLLED_KEY] = True
    audit.record(
        TWO_FACTOR_ENABLED,
        actor=user,
        address=client_ip(request),
        obj=user,
        message="Two-factor sign-in turned on.",
    )
    lifecycle.notify_two_factor_changed(user, enabled=True, address=client_ip(request))
    return codes


def verify_code(user: User, code: str):
    """The confirmed device that accepts ``code``, or None. Six digits are tried against
    the app, anything else against the recovery codes (each works once), so a mistyped
    recovery code does not slow down the app's codes."""
    code = normalise_code(code)
    if not code:
        return None
    wanted = TOTPDevice if _TOTP_FORMAT.match(code) else StaticDevice
    for device in devices_for_user(user, confirmed=True):
        if isinstance(device, wanted):
            verified = otp_verify_token(user, device.persistent_id, code)
            if verified is not None:
                return verified
    return None


def proves_identity(request, *, code: str = "", password: str = "") -> bool:
    """A current code (app or recovery) or the password: what turning 2FA off or making
    new recovery codes asks for. A wrong password counts toward the lockout."""
    from . import reauth  # reauth -> lockout; kept out of this module's import time

    if code and verify_code(request.user, code) is not None:
        return True
    return bool(password) and reauth.password_is_correct(request, password)


@transaction.atomic
def two_factor_disable(*, user: User, request) -> None:
    """Remove every device (the caller has checked ``proves_identity``). Other sessions
    end, as after any credential change."""
    for device in list(devices_for_user(user, confirmed=None)):
        device.delete()
    request.session.pop(ENROLLED_KEY, None)
    sessions.sessions_end_others(request=request)
    audit.record(
        TWO_FACTOR_DISABLED,
        actor=user,
        address=client_ip(request),
        obj=user,
        message="Two-factor sign-in turned off; other sessions ended.",
    )
    lifecycle.notify_two_factor_changed(user, enabled=False, address=client_ip(request))


@transaction.atomic
def two_factor_reset(*, user: User, actor, address: str | None) -> bool:
    """Recovery for a user who lost their authenticator and recovery codes: an
    administrator (or a user manager who may manage this user) or ``manage.py
    reset_two_factor`` (``actor`` None) removes every device. The user's sessions end;
    they sign in with the password alone and may enrol again (an administrator must,
    where OTP_REQUIRED_FOR_ADMINS is on). Returns False when there was nothing to reset.
    Whether ``actor`` may do it is checked by ``permissions.user_services``."""
    target = User.objects.select_for_update().get(pk=user.pk)
    devices = list(devices_for_user(target, confirmed=None))
    if not devices:
        return False
    for device in devices:
        device.delete()
    lifecycle.end_all_sessions(target)
    target.save(update_fields=["session_version", "updated_at"])
    audit.record(
        TWO_FACTOR_RESET,
        actor=actor,
        actor_label="" if actor else "reset_two_factor",
        address=address,
        obj=target,
        message=f"Two-factor sign-in of {target.email} reset by "
        f"{actor.email if actor else 'a command'}; their sessions were ended.",
    )
    lifecycle.notify_two_factor_changed(target, enabled=False, address=address)
    return True


@transaction.atomic
def recovery_codes_regenerate(*, user: User, request) -> list[str]:
    codes = _new_recovery_codes(user)
    audit.record(
        RECOVERY_CODES_MADE,
        actor=user,
        address=client_ip(request),
        obj=user,
        message="New recovery codes made; the old ones no longer work.",
    )
    return codes


# --- The second sign-in step -----------------------------------------------------------


def begin_pending_login(request, user: User, *, next_url: str, method: str = "") -> None:
    """Password accepted, code still needed: remember who, signed and short-lived. The
    user is not signed in. The session auth hash is bound in, so a password change (or
    anything else that ends sessions) in between voids the marker."""
    request.session.cycle_key()
    request.session[PENDING_KEY] = signing.dumps(
        {
            "user": user.pk,
            "auth": user.get_session_auth_hash(),
            "next": next_url,
            "backend": user.backend,
            "method": method,
        },
        salt=PENDING_SALT,
    )
    request.session[ATTEMPTS_KEY] = 0


def pending_login(request) -> tuple[User, str, str] | None:
    """The user waiting for the code step, where they were going and the backend that
    accepted the first step (``pending_method`` says how it was passed); None when there
    is none, it has expired or the user has changed since."""
    value = request.session.get(PENDING_KEY)
    if not value:
        return None
    try:
        data = signing.loads(value, salt=PENDING_SALT, max_age=pending_timeout())
    except signing.BadSignature:
        clear_pending_login(request)
        return None
    user = User.objects.filter(pk=data.get("user"), is_active=True).first()
    backend = data.get("backend")
    if (
        user is None
        or backend not in settings.AUTHENTICATION_BACKENDS
        or not constant_time_compare(user.get_session_auth_hash(), data.get("auth") or "")
    ):
        clear_pending_login(request)
        return None
    return user, data.get("next") or "/", backend


def pending_method(request) -> str:
    """How the waiting user passed the first step ("" for a password), for the audit."""
    try:
        data = signing.loads(
            request.session.get(PENDING_KEY) or "", salt=PENDING_SALT, max_age=pending_timeout()
        )
    except signing.BadSignature:
        return ""
    return data.get("method") or ""


def count_failed_code(request) -> bool:
    """One more wrong code; returns True when the password step must be done again."""
    attempts = int(request.session.get(ATTEMPTS_KEY, 0)) + 1
    request.session[ATTEMPTS_KEY] = attempts
    if attempts >= MAX_CODE_ATTEMPTS:
        clear_pending_login(request)
        return True
    return False


def clear_pending_login(request) -> None:
    request.session.pop(PENDING_KEY, None)
    request.session.pop(ATTEMPTS_KEY, None)


def mark_enrolled(request) -> None:
    request.session[ENROLLED_KEY] = True


def is_recovery_device(device) -> bool:
    return isinstance(device, StaticDevice)


def describe(device) -> str:
    return "recovery code" if is_recovery_device(device) else "code from the authenticator app"


def has_second_factor(user: User) -> bool:
    """A confirmed device or a passkey (user-verified, so it is a second factor in
    itself): what OTP_REQUIRED_FOR_ADMINS asks an administrator to have."""
    return is_enabled(user) or Passkey.objects.filter(user=user).exists()


def has_device_cached(request) -> bool:
    """Whether the signed-in user has a confirmed device or a passkey; a yes is
    remembered in the session (both only go away through ``two_factor_disable`` or
    ``accounts.passkeys``, which clear it and end the user's other sessions)."""
    if request.session.get(ENROLLED_KEY):
        return True
    if has_second_factor(request.user):
        request.session[ENROLLED_KEY] = True
        return True
    return False
