"""The end of every sign-in, whatever proved who the person is (a password, or the
organisation's identity provider through ``accounts.sso``).

``refusal_after_identity`` asks what the password sign-in asks once the password is
right: the account is active, not locked out (the account's or the address's count of
failed sign-ins, ``accounts.lockout``) and the client address is allowed by the user's
whitelist (``accounts.ipwhitelist.address_decision``). ``complete_sign_in`` then does
what the login page does: a user with two-factor sign-in is sent to the code step
(``accounts.two_factor``), anyone else is signed in (session key and CSRF token rotate;
the ``user_logged_in`` signal registers the session and the fresh proof) and audited.
"""

from __future__ import annotations

from django.contrib.auth import login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

from controlpanel.audit import log as audit
from controlpanel.kit.client_ip import client_ip

from . import lockout, two_factor
from .ipwhitelist import address_decision
from .models import User


def refusal_after_identity(request: HttpRequest, user: User) -> str:
    """Why this user may not sign in from this request although their identity is
    proven, for the audit log; empty when nothing stands in the way."""
    if not user.is_active:
        return "inactive account"
    if lockout.sign_in_paused(request, user):
        return "locked out after repeated failed sign-ins"
    address = address_decision(client_ip(request), user.ip_whitelist)
    if not address.allowed:
        return f"address not whitelisted: {address.reason}"
    return ""


def complete_sign_in(
    request: HttpRequest,
    user: User,
    *,
    next_url: str,
    method: str = "",
    second_factor_done: bool = False,
) -> HttpResponse:
    """Sign ``user`` in (their identity proven and ``refusal_after_identity`` empty), or
    send them to the code step when they have two-factor sign-in and ``method`` has not
    already given a second factor the panel trusts. ``user.backend`` names the backend
    that proved the identity. ``method`` is how, for the audit log ("" for a password)."""
    if two_factor.is_enabled(user) and not second_factor_done:
        # not signed in yet: the code step (accounts.security_views) finishes it
        two_factor.begin_pending_login(request, user, next_url=next_url, method=method)
        return redirect("accounts:login_code")
    login(request, user)  # rotates the session key and the CSRF token
    audit.record(
        audit.Action.LOGIN,
        actor=user,
        address=client_ip(request),
        obj=user,
        message=f"Signed in {method}." if method else "",
    )
    return redirect(next_url)
