"""Passkeys (WebAuthn) with py_webauthn: registration from the profile, and the checks
an assertion must pass before ``accounts.sign_in`` may admit its user.

- Relying party: ``WEBAUTHN_RP_ID`` and ``WEBAUTHN_ORIGINS`` (derived from PANEL_URL when
  unset; ``controlpanel.kit.relying_party``). An assertion from any other origin or for
  any other id is refused by py_webauthn.
- Discoverable credentials (resident key required) with user verification required, at
  registration and at every assertion: a passkey is something you have plus a PIN or
  biometric, so it stands for both factors (``accounts.two_factor.has_second_factor``).
- Challenges live in the session, one at a time, bound to their purpose (and for
  registration to the user), taken out before they are checked (single use) and dead
  after ``WEBAUTHN_CHALLENGE_TIMEOUT`` seconds.
- Signature counter: a counter that did not grow (when either side is non-zero) means a
  cloned authenticator; the assertion is refused and audited.
"""

from __future__ import annotations

import time

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import (
    base64url_to_bytes,
    bytes_to_base64url,
    generate_challenge,
    generate_user_handle,
)
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    AuthenticatorTransport,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from controlpanel.audit import log as audit
from controlpanel.kit.client_ip import client_ip
from controlpanel.kit.relying_party import RelyingParty, relying_party

from . import lifecycle
from .models import Passkey, User

CHALLENGE_KEY = "_accounts_passkey_challenge"
REGISTER = "register"
SIGN_IN = "sign-in"
SECOND_FACTOR = "second factor"

NAME_LENGTH = Passkey._meta.get_field("name").max_length
NAME_MISSING = "Give the passkey a name, e.g. “work laptop”, to tell it apart later."
NAME_TOO_LONG = f"The name is too long: at most {NAME_LENGTH} characters."
NAME_TAKEN = "You already have a passkey named “{name}”; choose another name."
UNAVAILABLE = (
    "Passkeys are not available on this panel: it is reached by an IP address, or they are "
    "turned off (WEBAUTHN_ENABLED, see docs/deployment.md)."
)
NO_CHALLENGE = (
    "This passkey request has expired or was already used. Start again: press the "
    "passkey button once more."
)
MALFORMED = "The browser sent a passkey answer the panel cannot read. Start again."
UNKNOWN_CREDENTIAL = (
    "This passkey is not registered on this panel (it may have been removed). Sign in "
    "with your e-mail address and password."
)
NOT_ACCEPTED = "The passkey could not be verified. Nothing was changed; start again."
REFUSED = "Sign-in with this passkey was refused."
COUNTER_WENT_BACK = (
    "This passkey's signature counter went backwards, which a copied authenticator "
    "would do; it was refused. Ask an administrator to check the passkey."
)

PASSKEY_ADDED = audit.Action.PASSKEY_ADDED
PASSKEY_REMOVED = audit.Action.PASSKEY_REMOVED
PASSKEY_COUNTER = audit.Action.PASSKEY_COUNTER


class PasskeyError(Exception):
    """A refused ceremony: ``message`` for the person, ``reason`` for the audit log,
    ``user`` when the passkey named one (its failure then counts toward that lockout)."""

    def __init__(self, message: str, *, reason: str, user: User | None = None):
        super().__init__(message)
        self.message = message
        self.reason = reason
        self.user = user


def current_relying_party() -> RelyingParty | None:
    """From the settings now (PANEL_URL may differ per test); None when passkeys are
    not offered."""
    if not settings.WEBAUTHN_ENABLED:
        return None
    return relying_party(
        panel_url=settings.PANEL_URL,
        rp_id=settings.WEBAUTHN_RP_ID,
        origins=settings.WEBAUTHN_ORIGINS,
        name=settings.WEBAUTHN_RP_NAME,
    )


def available() -> bool:
    return current_relying_party() is not None


def _relying_party() -> RelyingParty:
    party = current_relying_party()
    if party is None:
        raise PasskeyError(UNAVAILABLE, reason="passkeys are not available")
    return party


def user_passkeys(user: User):
    return Passkey.objects.filter(user=user).order_by("created_at", "pk")


def has_passkey(user: User) -> bool:
    return Passkey.objects.filter(user=user).exists()


# --- Challenges ------------------------------------------------------------------------


def _issue_challenge(request, purpose: str, user: User | None = None, **extra) -> bytes:
    challenge = generate_challenge()  # 64 random bytes
    request.session[CHALLENGE_KEY] = {
        "purpose": purpose,
        "challenge": bytes_to_base64url(challenge),
        "user": user.pk if user is not None else None,
        "expires": int(time.time()) + int(settings.WEBAUTHN_CHALLENGE_TIMEOUT),
        **extra,
    }
    return challenge


def _take_challenge(request, purpose: str, user: User | None = None) -> bytes:
    """The challenge issued for this purpose (and user), removed from the session first
    so that it can never be used twice; PasskeyError when there is none or it expired."""
    stored = request.session.pop(CHALLENGE_KEY, None)
    if (
        not isinstance(stored, dict)
        or stored.get("purpose") != purpose
        or stored.get("user") != (user.pk if user is not None else None)
        or not isinstance(stored.get("expires"), int)
        or stored["expires"] < time.time()
    ):
        raise PasskeyError(NO_CHALLENGE, reason="no current passkey challenge (expired or used)")
    return base64url_to_bytes(stored["challenge"])


# --- Registration ----------------------------------------------------------------------


def _user_handle(user: User) -> str:
    """One WebAuthn user handle per user (random, not the id or e-mail), shared by all
    their passkeys, so an authenticator keeps one passkey per account."""
    existing = Passkey.objects.filter(user=user).values_list("user_handle", flat=True).first()
    return existing or bytes_to_base64url(generate_user_handle())


def registration_options(request) -> str:
    """``PublicKeyCredentialCreationOptions`` as JSON for ``navigator.credentials.create``."""
    party = _relying_party()
    user = request.user
    handle = _user_handle(user)
    challenge = _issue_challenge(request, REGISTER, user, handle=handle)
    options = generate_registration_options(
        rp_id=party.id,
        rp_name=party.name,
        user_id=base64url_to_bytes(handle),
        user_name=user.email,
        user_display_name=user.display_name,
        challenge=challenge,
        timeout=int(settings.WEBAUTHN_CHALLENGE_TIMEOUT) * 1000,
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.REQUIRED,
            user_verification=UserVerificationRequirement.REQUIRED,
        ),
        exclude_credentials=[
            PublicKeyCredentialDescriptor(id=base64url_to_bytes(key.credential_id))
            for key in user_passkeys(user)
        ],
    )
    return options_to_json(options)


def clean_name(user: User, raw) -> str:
    name = " ".join(str(raw or "").split())
    if not name:
        raise ValidationError({"name": NAME_MISSING})
    if len(name) > NAME_LENGTH:
        raise ValidationError({"name": NAME_TOO_LONG})
    if Passkey.objects.filter(user=user, name=name).exists():
        raise ValidationError({"name": NAME_TAKEN.format(name=name)})
    return name


def _transports(credential: dict) -> list[str]:
    known = {transport.value for transport in AuthenticatorTransport}
    response = credential.get("response") if isinstance(credential, dict) else None
    listed = response.get("transports") if isinstance(response, dict) else None
    return [t for t in listed if t in known] if isinstance(listed, list) else []


@transaction.atomic
def passkey_register(*, request, name, credential) -> Passkey:
    """Verify the browser's answer to ``registration_options`` and keep the passkey.
    ValidationError for a bad name (nothing is used up), PasskeyError for a refused
    answer (the challenge is spent)."""
    user = request.user
    name = clean_name(user, name)
    handle = (request.session.get(CHALLENGE_KEY) or {}).get("handle")
    challenge = _take_challenge(request, REGISTER, user)
    party = _relying_party()
    if not isinstance(credential, dict) or not handle:
        raise PasskeyError(MALFORMED, reason="registration answer is not a JSON object")
    try:
        verified = verify_registration_response(
            credential=credential,
            expected_challenge=challenge,
            expected_rp_id=party.id,
            expected_origin=list(party.origins),
            require_user_verification=True,
        )
    except (WebAuthnException, ValueError, TypeError, KeyError) as error:
        raise PasskeyError(NOT_ACCEPTED, reason=f"registration refused: {error}") from error
    try:
        with transaction.atomic():
            passkey = Passkey.objects.create(
                user=user,
                name=name,
                credential_id=bytes_to_base64url(verified.credential_id),
                public_key=verified.credential_public_key,
                sign_count=verified.sign_count,
                transports=_transports(credential),
                user_handle=handle,
                aaguid=verified.aaguid,
                backup_eligible=verified.credential_device_type == "multi_device",
                backed_up=verified.credential_backed_up,
            )
    except IntegrityError:
        raise ValidationError({"name": NAME_TAKEN.format(name=name)}) from None
    address = client_ip(request)
    audit.record(
        PASSKEY_ADDED,
        actor=user,
        address=address,
        obj=user,
        message=f"Passkey “{name}” registered.",
    )
    lifecycle.notify_passkeys_changed(user, added=name, address=address)
    return passkey


# --- Assertions ------------------------------------------------------------------------


def authentication_options(request, *, purpose: str = SIGN_IN, user: User | None = None) -> str:
    """``PublicKeyCredentialRequestOptions`` as JSON. To sign in: no credentials listed
    (the authenticator offers its discoverable passkeys for this site). As a second
    factor: the pending user's passkeys."""
    party = _relying_party()
    challenge = _issue_challenge(request, purpose, user)
    allowed = []
    if user is not None:
        allowed = [
            PublicKeyCredentialDescriptor(id=base64url_to_bytes(key.credential_id))
            for key in user_passkeys(user)
        ]
    options = generate_authentication_options(
        rp_id=party.id,
        challenge=challenge,
        timeout=int(settings.WEBAUTHN_CHALLENGE_TIMEOUT) * 1000,
        allow_credentials=allowed,
        user_verification=UserVerificationRequirement.REQUIRED,
    )
    return options_to_json(options)


def find_passkey(credential) -> Passkey:
    """The registered passkey an assertion names; PasskeyError when none."""
    if not isinstance(credential, dict) or not isinstance(credential.get("id"), str):
        raise PasskeyError(MALFORMED, reason="assertion is not a JSON object with an id")
    passkey = Passkey.objects.select_related("user").filter(credential_id=credential["id"]).first()
    if passkey is None:
        raise PasskeyError(UNKNOWN_CREDENTIAL, reason="unknown passkey")
    return passkey


def verify_assertion(
    request, *, passkey: Passkey, credential: dict, purpose: str, user: User | None = None
) -> Passkey:
    """Check an assertion for ``passkey`` against the challenge of ``purpose``; on
    success the passkey's counter and last use are updated. PasskeyError otherwise."""
    owner = passkey.user
    try:
        challenge = _take_challenge(request, purpose, user)
    except PasskeyError as error:
        error.user = owner  # e.g. a replayed assertion: it counts against the account
        raise
    party = _relying_party()
    response = credential.get("response")
    if not isinstance(response, dict):
        raise PasskeyError(MALFORMED, reason="assertion has no response object", user=owner)
    handle = response.get("userHandle")
    # Without a list of credentials (sign-in), the user handle names the account and
    # must be there; the spec asks that it match the credential's owner either way.
    if (handle or purpose == SIGN_IN) and handle != passkey.user_handle:
        raise PasskeyError(NOT_ACCEPTED, reason="user handle does not match", user=owner)
    try:
        # The counter is compared below, after the signature is known to be good, so
        # that a regression is told apart from a forgery.
        verified = verify_authentication_response(
            credential=credential,
            expected_challenge=challenge,
            expected_rp_id=party.id,
            expected_origin=list(party.origins),
            credential_public_key=bytes(passkey.public_key),
            credential_current_sign_count=0,
            require_user_verification=True,
        )
    except (WebAuthnException, ValueError, TypeError, KeyError) as error:
        raise PasskeyError(
            NOT_ACCEPTED, reason=f"passkey assertion refused: {error}", user=owner
        ) from error
    new_count, old_count = verified.new_sign_count, passkey.sign_count
    if (new_count or old_count) and new_count <= old_count:
        audit.record(
            PASSKEY_COUNTER,
            actor_label=owner.email,
            address=client_ip(request),
            obj=owner,
            message=f"Passkey “{passkey.name}” sent signature counter {new_count}, not above "
            f"{old_count}: a copied authenticator is suspected; refused.",
        )
        raise PasskeyError(COUNTER_WENT_BACK, reason="signature counter regression", user=owner)
    Passkey.objects.filter(pk=passkey.pk).update(
        sign_count=new_count, last_used_at=timezone.now(), backed_up=verified.credential_backed_up
    )
    passkey.sign_count = new_count
    return passkey


# --- Removal ---------------------------------------------------------------------------


def _audit_removed(user: User, names: list[str], *, actor, address, how: str) -> None:
    audit.record(
        PASSKEY_REMOVED,
        actor=actor,
        actor_label="" if actor else "passkeys",
        address=address,
        obj=user,
        message=f"Passkey{'s' if len(names) != 1 else ''} "
        + ", ".join(f"“{name}”" for name in names)
        + f" of {user.email} removed {how}.",
    )


@transaction.atomic
def passkey_remove(*, request, passkey: Passkey) -> None:
    """The signed-in user removes one of their own passkeys; their other sessions end
    (as after any credential change). The caller checked fresh proof and whether the
    user may do without it (``accounts.two_factor.required_for``)."""
    from . import sessions, two_factor  # sessions -> audit; kept out of import time

    user = request.user
    Passkey.objects.filter(pk=passkey.pk, user=user).delete()
    request.session.pop(two_factor.ENROLLED_KEY, None)
    sessions.sessions_end_others(request=request)
    address = client_ip(request)
    _audit_removed(user, [passkey.name], actor=user, address=address, how="by its owner")
    lifecycle.notify_passkeys_changed(user, removed=passkey.name, address=address)


@transaction.atomic
def passkeys_remove(*, user: User, actor, address: str | None, name: str | None = None) -> list:
    """Recovery: remove one passkey (by name) or all of a user's passkeys, by an
    administrator (checked by ``permissions.user_services``) or ``manage.py passkeys``
    (``actor`` None). The user's sessions end. Returns the names removed."""
    target = User.objects.select_for_update().get(pk=user.pk)
    found = Passkey.objects.filter(user=target)
    if name is not None:
        found = found.filter(name=name)
    names = list(found.order_by("created_at", "pk").values_list("name", flat=True))
    if not names:
        return []
    found.delete()
    lifecycle.end_all_sessions(target)
    target.save(update_fields=["session_version", "updated_at"])
    who = actor.email if actor else "a command"
    _audit_removed(target, names, actor=actor, address=address, how=f"by {who}")
    for removed in names:
        lifecycle.notify_passkeys_changed(target, removed=removed, address=address)
    return names
