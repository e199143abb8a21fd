"""Single sign-on with OpenID Connect: which panel user a provider identity is.

The protocol is mozilla-django-oidc's: its request view makes the state, the nonce and
the PKCE pair (S256) and keeps them in the session; its backend trades the code (with
the PKCE verifier) for tokens, checks the ID token's signature against the provider's
JWKS and its nonce, and reads the userinfo endpoint. What it leaves out is done here:
the ID token's issuer and audience (the library skips both), and that the userinfo
answer is about the same subject as the ID token.

Which user (``user_for_claims``):
1. an identity already linked (issuer + subject, ``SSOIdentity``) is its user, whatever
   e-mail the provider reports today;
2. otherwise the panel user whose canonical e-mail (``accounts.identity``) is the
   provider's e-mail, only when the provider says that address is verified
   (``email_verified`` true); the identity is then linked to them, and audited. A user
   already linked to another subject of this issuer is refused, never re-linked;
3. otherwise nobody, unless ``SSO_CREATE_USERS`` is on: then a user with role User, no
   groups, no reseller and no password is created (single sign-on only), and linked.

Everything after that (active, lockout, IP whitelist, two-factor, session, audit) is the
password sign-in's own path: ``accounts.sign_in``.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from mozilla_django_oidc.auth import OIDCAuthenticationBackend

from controlpanel.audit import log as audit
from controlpanel.kit.client_ip import client_ip

from .identity import canonical_email
from .models import Role, SSOIdentity, User

logger = logging.getLogger(__name__)

BACKEND = "accounts.sso.SSOBackend"  # = accounts.sign_in.SSO_BACKEND
# Values of the ID token's ``amr`` claim (RFC 8176) that mean a second factor was used.
MFA_METHODS = frozenset({"mfa", "otp", "hwk", "swk", "sms", "fpt", "face", "iris", "retina"})


class SSORefused(Exception):
    """The provider signed someone in, but the panel will not: ``reason`` is for the
    audit log only; the person sees the same answer as any failed sign-in."""

    def __init__(self, reason: str, *, user: User | None = None, email: str = ""):
        super().__init__(reason)
        self.reason = reason
        self.user = user
        self.email = email


def is_enabled() -> bool:
    return bool(getattr(settings, "SSO_ENABLED", False))


def provider_name() -> str:
    return getattr(settings, "SSO_PROVIDER_NAME", "") or "single sign-on"


def _email_verified(claims: dict) -> bool:
    value = claims.get("email_verified")
    return value is True or (isinstance(value, str) and value.lower() == "true")


def provider_asserted_mfa(claims: dict) -> bool:
    """The ID token says a second factor was used (``amr``), and the deployment trusts
    the provider on that (``SSO_TRUST_PROVIDER_MFA``)."""
    if not getattr(settings, "SSO_TRUST_PROVIDER_MFA", False):
        return False
    methods = claims.get("amr")
    if not isinstance(methods, list):
        return False
    return any(isinstance(method, str) and method in MFA_METHODS for method in methods)


def _link(user: User, *, issuer: str, subject: str, email: str, address=None) -> SSOIdentity:
    if SSOIdentity.objects.filter(user=user, issuer=issuer).exists():
        raise SSORefused(
            "this user is already linked to another identity at this provider",
            user=user,
            email=email,
        )
    try:
        with transaction.atomic():
            identity = SSOIdentity.objects.create(
                user=user, issuer=issuer, subject=subject, email=email
            )
    except IntegrityError:  # a parallel sign-in linked it first
        raise SSORefused(
            "this identity or user was linked by a parallel sign-in", user=user, email=email
        ) from None
    audit.record(
        audit.Action.SSO_LINKED,
        actor=user,
        address=address,
        obj=user,
        message=f"Single sign-on identity {subject} at {issuer} linked by the verified "
        f"e-mail address {email}.",
    )
    return identity


def _create(*, issuer: str, subject: str, email: str, name: str, address=None) -> User:
    user = User(email=email, name=name[:150], role=Role.USER, sso_only=True)
    user.set_unusable_password()
    user.email_verified_at = timezone.now()  # the provider verified it
    try:
        user.full_clean(exclude=["password"])
    except ValidationError as error:
        raise SSORefused(f"cannot create a user from the provider's claims: {error}") from None
    user.save()
    audit.record(
        audit.Action.CREATE,
        actor_label="single sign-on",
        address=address,
        obj=user,
        message=f"User {email} created by single sign-on (role User, no groups); "
        "SSO_CREATE_USERS is on.",
    )
    _link(user, issuer=issuer, subject=subject, email=email, address=address)
    return user


@transaction.atomic
def user_for_claims(claims: dict, *, address: str | None = None) -> User:
    """The panel user for these verified claims (``iss`` and ``sub`` from the ID token),
    or ``SSORefused``."""
    issuer, subject = claims.get("iss"), claims.get("sub")
    if not isinstance(issuer, str) or not isinstance(subject, str) or not subject:
        raise SSORefused("the provider's answer has no issuer or subject")
    raw_email = claims.get("email") if isinstance(claims.get("email"), str) else ""
    identity = (
        SSOIdentity.objects.select_related("user").filter(issuer=issuer, subject=subject).first()
    )
    if identity is not None:
        identity.last_used_at = timezone.now()
        identity.email = raw_email[:254]
        identity.save(update_fields=["last_used_at", "email"])
        return identity.user
    if not raw_email:
        raise SSORefused("the provider gave no e-mail address for an identity not yet linked")
    if not _email_verified(claims):
        raise SSORefused(
            f"the provider does not say the e-mail address {raw_email} is verified",
            email=raw_email,
        )
    try:
        email = canonical_email(raw_email)
    except ValidationError:
        raise SSORefused(
            f"the provider's e-mail address {raw_email!r} has no canonical form", email=raw_email
        ) from None
    user = User.objects.filter(email=email).first()
    if user is not None:
        _link(user, issuer=issuer, subject=subject, email=email, address=address)
        return user
    if not getattr(settings, "SSO_CREATE_USERS", False):
        raise SSORefused(
            f"no panel user has the e-mail address {email}, and creating users from single "
            "sign-on is off (OIDC_CREATE_USERS)",
            email=email,
        )
    name = claims.get("name") if isinstance(claims.get("name"), str) else ""
    return _create(issuer=issuer, subject=subject, email=email, name=name, address=address)


@transaction.atomic
def sso_unlink(*, user: User, actor=None, actor_label: str = "", address=None) -> int:
    """Remove every provider identity linked to ``user`` (recovery: the provider moved
    the person to a new subject, or the link was made to the wrong account). Their next
    single sign-on links again by verified e-mail. Returns how many links went."""
    identities = list(SSOIdentity.objects.select_for_update().filter(user=user))
    if not identities:
        return 0
    SSOIdentity.objects.filter(pk__in=[identity.pk for identity in identities]).delete()
    audit.record(
        audit.Action.SSO_UNLINKED,
        actor=actor,
        actor_label=actor_label,
        address=address,
        obj=user,
        message="Single sign-on identities unlinked: "
        + ", ".join(f"{identity.subject} at {identity.issuer}" for identity in identities)
        + ".",
    )
    return len(identities)


class SSOBackend(OIDCAuthenticationBackend):
    """mozilla-django-oidc's backend with the checks it leaves out, the panel's linking
    rules, and Django's ``ModelBackend`` answers where the library's differ (an inactive
    user's session is not restored; model permissions are never used)."""

    def verify_token(self, token, **kwargs):
        payload = super().verify_token(token, **kwargs)
        if payload.get("iss") != settings.OIDC_ISSUER:
            raise SSORefused(
                f"the ID token's issuer {payload.get('iss')!r} is not OIDC_ISSUER "
                f"{settings.OIDC_ISSUER!r}"
            )
        audience = payload.get("aud")
        audiences = audience if isinstance(audience, list) else [audience]
        if settings.OIDC_RP_CLIENT_ID not in audiences:
            raise SSORefused("the ID token was not issued to this panel (audience)")
        if len(audiences) > 1 and payload.get("azp") != settings.OIDC_RP_CLIENT_ID:
            raise SSORefused("the ID token names other audiences and not this panel as azp")
        if not isinstance(payload.get("exp"), int | float):
            raise SSORefused("the ID token has no expiry")
        return payload

    def get_or_create_user(self, access_token, id_token, payload):
        userinfo = self.get_userinfo(access_token, id_token, payload)
        if not isinstance(userinfo, dict) or userinfo.get("sub") != payload.get("sub"):
            raise SSORefused("the userinfo answer is about another subject than the ID token")
        # The ID token's issuer, subject and authentication methods are the signed ones.
        claims = {**userinfo, "iss": payload["iss"], "sub": payload["sub"]}
        claims["amr"] = payload.get("amr")
        self.claims = claims
        return user_for_claims(claims, address=client_ip(self.request))

    def get_user(self, user_id):
        return ModelBackend.get_user(self, user_id)  # None for an inactive user

    def get_all_permissions(self, user_obj, obj=None):
        return set()

    def has_perm(self, user_obj, perm, obj=None):
        return False
