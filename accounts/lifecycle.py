"""Account lifecycle: invitations, e-mail verification, password reset, unlock and the
security notices that follow a credential change.

Who calls what:
- after creating a user without a password → ``user_send_invite``;
- after creating a user with a password, or changing a user's e-mail → ``user_send_verification``
  (``User.save`` clears ``email_verified_at`` whenever the address changes);
- after an administrator sets a user's password → ``notify_password_changed_by_admin``.

Links are built from the request's host, which ALLOWED_HOSTS has already vetted. Link
e-mails (invite, verification, reset) go to the address on record because proving it is
their point; notices go only to verified addresses (``notifiable``).
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from controlpanel.audit import log as audit
from controlpanel.audit.models import AuditEntry
from controlpanel.kit.client_ip import client_ip
from controlpanel.kit.links import absolute_reverse
from controlpanel.outbox import services as outbox

from . import lockout
from .api_tokens import api_tokens_revoke_all
from .models import User, UserSession, UserStatus
from .tokens import LinkState, invite_tokens, password_reset_tokens, uid_of, verification_tokens

logger = logging.getLogger(__name__)

INVITE_SENT = audit.Action.INVITE_SENT
INVITE_ACCEPTED = audit.Action.INVITE_ACCEPTED
VERIFICATION_SENT = audit.Action.VERIFICATION_SENT
EMAIL_VERIFIED = audit.Action.EMAIL_VERIFIED
RESET_REQUESTED = audit.Action.RESET_REQUESTED
RESET_THROTTLED = audit.Action.RESET_THROTTLED
RESET_LINK_SENT = audit.Action.RESET_LINK_SENT
PASSWORD_RESET = audit.Action.PASSWORD_RESET
UNLOCK = audit.Action.UNLOCK

NOT_INVITED = "{user} has already accepted their invitation; send a password reset link instead."
IS_DEACTIVATED = "{user} is deactivated; activate the account first."
STILL_INVITED = (
    "{user} has not accepted their invitation yet, so has no password to reset; "
    "re-send the invitation instead."
)


# --- E-mail ----------------------------------------------------------------------------
# Every mail goes through the outbox: recorded in this transaction, sent by a task after it
# commits and retried until it goes (controlpanel.outbox). A mail server that is down no
# longer fails an invitation, a reset or a save; the outbox page shows the mail waiting.


def _queue(name: str, user: User, to: str, context: dict, *, sensitive: bool) -> None:
    outbox.queue_template(
        name, to, context, reseller_id=user.reseller_id or None, sensitive=sensitive
    )


def notifiable(user: User) -> bool:
    """Notices go only to active users whose current address is verified."""
    return user.is_active and user.is_verified


def _notify(name: str, user: User, context: dict) -> bool:
    """Queue a notice if the user may receive one (never a link: not sensitive)."""
    if not notifiable(user):
        return False
    _queue(name, user, user.email, {"user": user, **context}, sensitive=False)
    return True


def _link(name: str, user: User, token: str) -> str:
    return absolute_reverse(name, uidb64=uid_of(user), token=token)


def _login_url() -> str:
    return absolute_reverse("accounts:login")


def duration_text(seconds: int) -> str:
    hours = max(1, round(seconds / 3600))
    if hours % 24 == 0:
        days = hours // 24
        return f"{days} day{'s' if days != 1 else ''}"
    return f"{hours} hour{'s' if hours != 1 else ''}"


def end_all_sessions(user: User) -> None:
    """Every session ends: the caller saves the user (the new session version changes
    the session auth hash), and the profile's session list forgets them."""
    user.end_sessions()
    UserSession.objects.filter(user=user).delete()


# --- Invitations -----------------------------------------------------------------------


@transaction.atomic
def user_send_invite(*, user: User, actor, request) -> User:
    """E-mail an invitation to set a password. Re-sending gives the user a fresh
    unusable password, which kills every earlier invitation link. ``actor`` None is a
    trusted caller (the user asking again from their expired link, a command). Whether
    ``actor`` may do it is checked by ``permissions.user_services.user_invite``."""
    target = User.objects.select_for_update().get(pk=user.pk)
    if target.status == UserStatus.DEACTIVATED:
        raise ValidationError(IS_DEACTIVATED.format(user=target.display_name), code="state")
    if target.status != UserStatus.INVITED:
        raise ValidationError(NOT_INVITED.format(user=target.display_name), code="state")
    target.set_unusable_password()
    target.save(update_fields=["password", "updated_at"])
    _queue(
        "invite",
        target,
        target.email,
        {
            "user": target,
            "inviter": actor,
            "link": _link("accounts:invite_accept", target, invite_tokens.make_token(target)),
            "valid_for": duration_text(invite_tokens.timeout),
        },
        sensitive=True,
    )
    audit.record(
        INVITE_SENT,
        actor=actor,
        actor_label="" if actor else target.email,
        address=client_ip(request),
        obj=target,
        message=f"Invitation sent to {target.email}.",
    )
    return target


@transaction.atomic
def user_accept_invite(*, user: User, password: str, request) -> User:
    """The invited user sets their password (the form ran the validators); the link
    proved the address, so it is verified too."""
    target = User.objects.select_for_update().get(pk=user.pk)
    target.set_password(password)
    if target.email_verified_at is None:
        target.email_verified_at = timezone.now()
    target.save(update_fields=["password", "email_verified_at", "updated_at"])
    audit.record(
        INVITE_ACCEPTED,
        actor_label=target.email,
        address=client_ip(request),
        obj=target,
        message="Invitation accepted; password set.",
    )
    return target


# --- E-mail verification ---------------------------------------------------------------


@transaction.atomic
def user_send_verification(*, user: User, request) -> bool:
    """E-mail a link that proves the user's current address. Returns False (and sends
    nothing) when the address is already verified."""
    target = User.objects.select_for_update().get(pk=user.pk)
    if target.is_verified:
        return False
    _queue(
        "verify",
        target,
        target.email,
        {
            "user": target,
            "link": _link("accounts:verify_email", target, verification_tokens.make_token(target)),
            "valid_for": duration_text(verification_tokens.timeout),
        },
        sensitive=True,
    )
    audit.record(
        VERIFICATION_SENT,
        actor=getattr(request, "user", None),
        address=client_ip(request),
        obj=target,
        message=f"Verification link sent to {target.email}.",
    )
    return True


@transaction.atomic
def user_verify_email(*, user: User, token: str, request) -> LinkState:
    """Mark the address verified when the token is valid; the new timestamp makes the
    link single-use."""
    target = User.objects.select_for_update().get(pk=user.pk)
    state = verification_tokens.state(target, token)
    if state is LinkState.VALID:
        target.email_verified_at = timezone.now()
        target.save(update_fields=["email_verified_at"])
        audit.record(
            EMAIL_VERIFIED,
            actor_label=target.email,
            address=client_ip(request),
            obj=target,
            message=f"Address {target.email} verified.",
        )
    return state


# --- Password reset --------------------------------------------------------------------


def _reset_candidate(email: str) -> User | None:
    """The active user with a usable password at this address, if any."""
    user = User.objects.find_by_email(email)
    if user is None or not user.is_active or not user.has_usable_password():
        return None
    return user


def _reset_context(request, user: User) -> dict:
    return {
        "user": user,
        "link": _link(
            "accounts:password_reset_confirm", user, password_reset_tokens.make_token(user)
        ),
        "valid_for": duration_text(password_reset_tokens.timeout),
        "login_url": _login_url(),
    }


def _reset_throttled(user: User | None, address: str | None) -> bool:
    """Too many "forgot password" requests lately, for this account or from this address.
    Counted from the audit log, which every app server shares: per account the links
    actually sent, per address every request (known or unknown addresses alike)."""
    since = timezone.now() - timedelta(seconds=settings.PASSWORD_RESET_LIMIT_WINDOW)
    recent = AuditEntry.objects.filter(at__gte=since)
    if address is not None:
        from_address = recent.filter(
            action__in=(RESET_REQUESTED, RESET_THROTTLED), address=address
        ).count()
        if from_address >= settings.PASSWORD_RESET_LIMIT_PER_ADDRESS:
            return True
    if user is not None:
        sent = recent.filter(
            action=RESET_REQUESTED, object_type="user", object_id=str(user.pk)
        ).count()
        if sent >= settings.PASSWORD_RESET_LIMIT_PER_ACCOUNT:
            return True
    return False


@transaction.atomic
def user_send_password_reset(*, email: str, request) -> None:
    """The public "forgot password" request. Whether or not the address belongs to an
    account, the same work is done (a token is made and the message rendered, for an
    unsaved stand-in when there is no account), one audit entry is written and nothing
    is returned, so the caller answers identically. Only a real account is sent mail,
    and at most ``PASSWORD_RESET_LIMIT_PER_ACCOUNT`` of them per window; an address that
    asks more than ``PASSWORD_RESET_LIMIT_PER_ADDRESS`` times gets nothing sent either.
    A throttled request answers the same, silently."""
    address = client_ip(request)
    user = _reset_candidate(email)
    if _reset_throttled(user, address):
        audit.record(
            RESET_THROTTLED,
            actor_label=email[:254],
            address=address,
            object_type="user",
            object_id=str(user.pk) if user is not None else "",
            message="Password reset requested too often (for this account or from this "
            "address); nothing sent.",
        )
        return
    if user is None:
        stand_in = User(pk=0, email=email, password=make_password(None))
        outbox.render_mail("password_reset", _reset_context(request, stand_in))
        audit.record(
            RESET_REQUESTED,
            actor_label=email[:254],
            address=address,
            object_type="user",
            message="Password reset requested for an unknown, inactive or invited address; "
            "nothing sent.",
        )
        return
    _queue("password_reset", user, user.email, _reset_context(request, user), sensitive=True)
    audit.record(
        RESET_REQUESTED,
        actor_label=email[:254],
        address=address,
        obj=user,
        message="Password reset requested; link sent.",
    )


@transaction.atomic
def user_send_reset_link(*, user: User, actor, request) -> User:
    """An administrator's "send a reset link instead" of setting the password (checked
    by ``permissions.user_services.user_send_reset``)."""
    target = User.objects.select_for_update().get(pk=user.pk)
    if target.status == UserStatus.DEACTIVATED:
        raise ValidationError(IS_DEACTIVATED.format(user=target.display_name), code="state")
    if target.status == UserStatus.INVITED or not target.has_usable_password():
        raise ValidationError(STILL_INVITED.format(user=target.display_name), code="state")
    _queue("password_reset", target, target.email, _reset_context(request, target), sensitive=True)
    audit.record(
        RESET_LINK_SENT,
        actor=actor,
        address=client_ip(request),
        obj=target,
        message=f"Password reset link sent to {target.email}.",
    )
    return target


@transaction.atomic
def user_complete_password_reset(*, user: User, password: str, request) -> User:
    """Set the new password from a reset link: every session of the user ends, the
    account is unlocked (the link proved the mailbox), the address counts as verified,
    and the user gets a notice."""
    target = User.objects.select_for_update().get(pk=user.pk)
    target.set_password(password)
    if target.email_verified_at is None:
        target.email_verified_at = timezone.now()
    end_all_sessions(target)
    target.save(update_fields=["password", "email_verified_at", "session_version", "updated_at"])
    api_tokens_revoke_all(
        user=target, reason="Password reset with an e-mailed link.", address=client_ip(request)
    )
    lockout.unlock(email=target.email)
    audit.record(
        PASSWORD_RESET,
        actor_label=target.email,
        address=client_ip(request),
        obj=target,
        message="Password reset with an e-mailed link; all sessions ended.",
    )
    notify_password_changed(target, address=client_ip(request))
    return target


# --- Unlock ----------------------------------------------------------------------------


@transaction.atomic
def user_unlock(*, user: User, actor, address: str | None) -> int:
    """Clear the failed sign-ins counted against this account; returns how many
    attempt records went (checked by ``permissions.user_services.user_unlock``)."""
    removed = lockout.unlock(email=user.email)
    audit.record(
        UNLOCK,
        actor=actor,
        address=address,
        obj=user,
        message=f"Sign-in lockout cleared for {user.email} ({removed} record(s)).",
    )
    return removed


# --- Notices ---------------------------------------------------------------------------


def notify_password_changed(user: User, *, address: str | None = None) -> bool:
    """ "Your password was changed" (never the password itself, and no link: the user
    should go to the panel themselves)."""
    return _notify(
        "password_changed",
        user,
        {"when": timezone.now(), "address": address, "by_admin": False},
    )


def notify_password_changed_by_admin(user: User) -> bool:
    """Tell the user an administrator set their password."""
    return _notify(
        "password_changed",
        user,
        {"when": timezone.now(), "address": None, "by_admin": True},
    )


def notify_two_factor_changed(user: User, *, enabled: bool, address: str | None = None) -> bool:
    return _notify(
        "two_factor_changed",
        user,
        {"when": timezone.now(), "enabled": enabled, "address": address},
    )


def notify_passkeys_changed(
    user: User, *, added: str = "", removed: str = "", address: str | None = None
) -> bool:
    return _notify(
        "passkeys_changed",
        user,
        {"when": timezone.now(), "added": added, "removed": removed, "address": address},
    )
