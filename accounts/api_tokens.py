"""Personal API tokens: issuing and revoking them, and signing API requests in with them.

A token looks like ``cp_<prefix>_<secret>``. The prefix (12 hex characters) is not secret:
it finds the row and is shown in the token list. The secret is 256 random bits. Only the
SHA-256 hash of the whole token is stored; a random secret of that size needs no slow
password hash, and the comparison is constant-time.

``ApiTokenMiddleware`` sits right after Django's ``AuthenticationMiddleware``. On ``/api/``
paths with ``Authorization: Bearer <token>`` it makes the token's owner the request's user
(or answers 401), and exempts the request from CSRF: a token request carries no cookie, so
there is nothing for a forged cross-site request to ride on. The access middleware then
applies the owner's IP whitelist and permissions exactly as for a session; a read-only
token is refused anything but a read there (``read_only_token_refusal``).
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import JsonResponse
from django.utils import timezone

from accounts.ipwhitelist import ip_allowed
from controlpanel.audit import log as audit
from controlpanel.audit.refusals import refuse, refuse_address
from controlpanel.kit.client_ip import client_ip

from .models import ApiToken, User

MARKER = "cp_"  # every token starts so: easy to spot in logs and secret scanners
PREFIX_BYTES = 6  # 12 hex characters
SECRET_BYTES = 32
_TOKEN_SHAPE = re.compile(rf"^{MARKER}([0-9a-f]{{{PREFIX_BYTES * 2}}})_([A-Za-z0-9_\-]{{40,64}})$")
# last_used_at is written at most this often per token, so most requests write nothing.
LAST_USED_INTERVAL = datetime.timedelta(minutes=1)
MAX_ACTIVE_TOKENS = 25
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class Refusal:
    """Why a token does not sign a request in (the 401's detail), or may not write."""

    INVALID = "Invalid API token."
    REVOKED = "This API token has been revoked."
    EXPIRED = "This API token has expired."
    INACTIVE_OWNER = "The account this API token belongs to is deactivated."
    READ_ONLY = "This API token is read-only: it can only read (GET, HEAD, OPTIONS)."


NAME_REQUIRED = "Give the token a name, so you can tell your tokens apart."
EXPIRY_IN_PAST = "The expiry date must be in the future."
TOO_MANY_TOKENS = "You already have {limit} active tokens; revoke one you no longer use first."


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


# --- Issuing and revoking ----------------------------------------------------------------


@transaction.atomic
def api_token_create(
    *,
    user: User,
    name: str,
    read_only: bool = False,
    expires_at: datetime.datetime | None = None,
    address: str | None,
) -> tuple[ApiToken, str]:
    """A new token for ``user`` (always the signed-in user: tokens are self-service).
    Returns the row and the token itself, which is shown once and never stored."""
    name = " ".join((name or "").split())
    if not name:
        raise ValidationError({"name": NAME_REQUIRED})
    if expires_at is not None and expires_at <= timezone.now():
        raise ValidationError({"expires_at": EXPIRY_IN_PAST})
    User.objects.select_for_update().filter(pk=user.pk).first()  # one create at a time
    active = ApiToken.objects.filter(user=user, revoked_at__isnull=True).exclude(
        expires_at__lte=timezone.now()
    )
    if active.count() >= MAX_ACTIVE_TOKENS:
        raise ValidationError(TOO_MANY_TOKENS.format(limit=MAX_ACTIVE_TOKENS))
    prefix = secrets.token_hex(PREFIX_BYTES)
    while ApiToken.objects.filter(prefix=prefix).exists():
        prefix = secrets.token_hex(PREFIX_BYTES)
    raw = f"{MARKER}{prefix}_{secrets.token_urlsafe(SECRET_BYTES)}"
    token = ApiToken(
        user=user,
        name=name,
        prefix=prefix,
        secret_hash=_digest(raw),
        read_only=read_only,
        expires_at=expires_at,
    )
    token.full_clean()
    token.save()
    audit.record(
        audit.Action.CREATE,
        actor=user,
        address=address,
        obj=token,
        message=f"Created API token “{token.name}” ({prefix}){', read-only' if read_only else ''}.",
        changes={
            "name": {"after": token.name},
            "read_only": {"after": read_only},
            "expires_at": {"after": expires_at},
        },
    )
    return token, raw


@transaction.atomic
def api_token_revoke(*, user: User, token: ApiToken, address: str | None) -> ApiToken:
    """Revoke one of ``user``'s own tokens; it stops working at once. Revoking a revoked
    token changes nothing."""
    row = ApiToken.objects.select_for_update().get(pk=token.pk, user=user)
    if row.revoked_at is not None:
        return row
    row.revoked_at = timezone.now()
    row.save(update_fields=["revoked_at"])
    audit.record(
        audit.Action.DELETE,
        actor=user,
        address=address,
        obj=row,
        message=f"Revoked API token “{row.name}” ({row.prefix}).",
        changes={"revoked_at": {"before": None, "after": row.revoked_at}},
    )
    return row


def api_tokens_revoke_all(*, user: User, reason: str, actor=None, address: str | None) -> int:
    """Revoke every active token of ``user`` (a password reset, a password set by an
    administrator, a two-factor reset: whoever held a session may have minted one).
    Returns how many were revoked; one audit entry names them. Runs in the caller's
    transaction."""
    now = timezone.now()
    active = ApiToken.objects.filter(user=user, revoked_at__isnull=True)
    prefixes = list(active.values_list("prefix", flat=True))
    if not prefixes:
        return 0
    active.update(revoked_at=now)
    audit.record(
        audit.Action.TOKENS_REVOKED,
        actor=actor,
        actor_label="" if actor is not None else user.email,
        address=address,
        obj=user,
        message=f"{reason} Every API token of {user.email} was revoked: {', '.join(prefixes)}.",
    )
    return len(prefixes)


def tokens_of(user: User):
    return ApiToken.objects.filter(user=user).order_by("revoked_at", "-created_at", "-id")


# --- Signing a request in ----------------------------------------------------------------


@dataclass(frozen=True)
class TokenCheck:
    token: ApiToken | None
    refusal: str = ""


def check_token(raw: str, *, now: datetime.datetime | None = None) -> TokenCheck:
    """Find the live token ``raw`` names, or say why it does not work. Only someone who
    holds the whole token learns that it was revoked or expired; anything else is just
    invalid."""
    match = _TOKEN_SHAPE.match(raw or "")
    if match is None:
        return TokenCheck(None, Refusal.INVALID)
    token = ApiToken.objects.select_related("user").filter(prefix=match.group(1)).first()
    if token is None or not hmac.compare_digest(token.secret_hash, _digest(raw)):
        return TokenCheck(None, Refusal.INVALID)
    status = token.status_at(now or timezone.now())
    if status == "revoked":
        return TokenCheck(token, Refusal.REVOKED)
    if status == "expired":
        return TokenCheck(token, Refusal.EXPIRED)
    if not token.user.is_active:
        return TokenCheck(token, Refusal.INACTIVE_OWNER)
    return TokenCheck(token)


def note_use(token: ApiToken, address: str | None, now: datetime.datetime) -> None:
    """Record when (and from where) the token was last used, at most once a minute."""
    if token.last_used_at is not None and now - token.last_used_at < LAST_USED_INTERVAL:
        return
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=now, last_used_address=address)
    token.last_used_at, token.last_used_address = now, address


def _unauthorized(detail: str) -> JsonResponse:
    response = JsonResponse({"detail": detail}, status=401)
    response["WWW-Authenticate"] = 'Bearer realm="api", error="invalid_token"'
    return response


def bearer_credentials(request) -> str | None:
    """The token of an ``Authorization: Bearer …`` header, or None without one."""
    scheme, _, credentials = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
    if scheme.lower() != "bearer":
        return None
    return credentials.strip()


class ApiTokenMiddleware:
    """Sign ``/api/`` requests in by their bearer token (see the module docstring)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path.startswith("/api/"):
            raw = bearer_credentials(request)
            if raw is not None:
                refused = self._sign_in(request, raw)
                if refused is not None:
                    return refused
        return self.get_response(request)

    @staticmethod
    def _sign_in(request, raw: str):
        now = timezone.now()
        address = client_ip(request)
        check = check_token(raw, now=now)
        if check.refusal:
            if check.token is not None:  # a real token, no longer valid: worth a trace
                audit.record(
                    audit.Action.REFUSED,
                    actor=check.token.user,
                    address=address,
                    obj=check.token,
                    message=f"API token “{check.token.name}” ({check.token.prefix}) refused: "
                    f"{check.refusal}",
                )
            return _unauthorized(check.refusal)
        token = check.token
        owner = token.user
        if not ip_allowed(address, owner.ip_whitelist):  # the login's and every request's rule
            return refuse_address(request, owner, address)

        async def auser():
            return owner

        request.user, request.auser = owner, auser
        request.api_token = token
        request.token_read_only = token.read_only
        # No cookie rides along with a bearer token, so there is no CSRF to defend against.
        request._dont_enforce_csrf_checks = True
        note_use(token, address, now)
        return None


def read_only_token_refusal(request, declaration):
    """The access middleware's answer to a read-only token asking to write: 403, audited."""
    area = getattr(declaration, "area", None)
    action = declaration.action_for(request.method) if area else None
    token = request.api_token
    return refuse(
        request,
        area=area,
        action=action,
        reason=Refusal.READ_ONLY,
        obj=token,
        message=f"Refused {request.method} {request.path}: API token “{token.name}” "
        f"({token.prefix}) is read-only.",
    )
