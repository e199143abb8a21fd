"""What every way of signing in ends on, so that a password, a code and a passkey obey
the same rules: who may be admitted (active, from a whitelisted address), when a second
step is needed, how a sign-in is completed (Django's ``login``, which rotates the session
key and CSRF token and fires ``user_logged_in``: the session record of
``accounts.sessions`` and the fresh proof of ``accounts.reauth``) and audited, and how a
refusal is audited. The lockout is counted by ``authenticate()`` for passwords and by
``accounts.lockout.count_failure`` for passkeys.
"""

from __future__ import annotations

from django.contrib.auth import login
from django.shortcuts import redirect

from controlpanel.audit import log as audit
from controlpanel.kit.client_ip import client_ip

from . import passkeys, two_factor
from .ipwhitelist import address_decision
from .models import User

# The backend that keeps a session signed in by a passkey: the password backend, whose
# ``get_user`` refuses an inactive user on every request just the same.
SESSION_BACKEND = "accounts.backends.EmailBackend"
SSO_BACKEND = "accounts.sso.SSOBackend"  # accounts.sso.BACKEND, named here to stay light


def admission_refusal(request, user: User, *, backend: str = "") -> str:
    """Why ``user`` may not be signed in from this request ("" when they may): the
    reason goes to the audit log only. ``backend`` is the one that proved the identity
    (the pending sign-in's, for a second step): a "single sign-on only" user is admitted
    only through the identity provider (``accounts.sso``), never by a password or a
    passkey alone, so that removing them at the provider removes their access."""
    if not user.is_active:
        return "inactive account"
    if user.sso_only and backend != SSO_BACKEND:
        return "single sign-on only: this way of signing in is refused"
    decision = address_decision(client_ip(request), user.ip_whitelist)
    if not decision.allowed:
        return f"address not whitelisted: {decision.reason}"
    return ""


def needs_second_step(user: User) -> bool:
    """After a password: a code or passkey is asked for when the user turned two-factor
    sign-in on, or when it is required of them and they have a passkey to give."""
    return two_factor.is_enabled(user) or (
        two_factor.required_for(user) and passkeys.available() and passkeys.has_passkey(user)
    )


def complete(request, user: User, *, backend: str, message: str = "") -> None:
    login(request, user, backend=backend)
    audit.record(
        audit.Action.LOGIN, actor=user, address=client_ip(request), obj=user, message=message
    )


def after_password(request, user: User, *, next_url: str):
    """The password was right and the user admitted: sign in, or ask for the second
    step (not signed in yet: ``accounts.security_views.login_code_view`` finishes it)."""
    if needs_second_step(user):
        two_factor.begin_pending_login(request, user, next_url=next_url)
        return redirect("accounts:login_code")
    complete(request, user, backend=user.backend)
    return redirect(next_url)


def record_refusal(request, *, user: User | None, label: str, reason: str) -> None:
    audit.record(
        audit.Action.LOGIN_FAILED,
        actor=user,
        actor_label=(label or "")[:254],
        address=client_ip(request),
        object_type="user",
        object_id=str(user.pk) if user else "",
        message=f"Login refused: {reason}.",
    )
