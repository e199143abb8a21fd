"""Fresh proof of the password for the changes a stolen session must not make alone.

Turning two-factor sign-in on, minting an API token and making recovery codes need a
password typed recently in this session: at sign-in, or on the "Confirm your password"
page (``REAUTH_WINDOW`` seconds, 10 minutes by default). Every password typed by a
signed-in user (that page, "Change your password") goes through ``authenticate()``, so
a wrong one counts toward the account's lockout exactly like a failed sign-in; once the
account is locked out, the session that kept guessing is ended.
"""

from __future__ import annotations

import functools
import time
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth import authenticate, logout
from django.shortcuts import redirect
from django.urls import reverse

from . import lockout

SESSION_KEY = "_password_proven_at"
WRONG_PASSWORD = "That is not your current password."  # noqa: S105 (a message)
LOCKED_OUT = (
    "Too many wrong passwords: the account is locked for a while and this session was "
    "ended. Sign in again later, or ask an administrator to unlock it."
)


def note_proof(request) -> None:
    request.session[SESSION_KEY] = int(time.time())


def on_login(sender, request, user, **kwargs) -> None:
    """``user_logged_in``: the password (and code) just typed is fresh proof."""
    if request is not None and hasattr(request, "session"):
        note_proof(request)


def proof_is_fresh(request) -> bool:
    proven_at = request.session.get(SESSION_KEY)
    return isinstance(proven_at, int) and time.time() - proven_at <= settings.REAUTH_WINDOW


def password_is_correct(request, password: str) -> bool:
    """The signed-in user's own password, checked as a sign-in would be: through the
    lockout gate, and a failure counted against the account and the address."""
    user = request.user
    found = authenticate(request, username=user.email, password=password)
    return found is not None and found.pk == user.pk


def end_if_locked_out(request) -> bool:
    """After a wrong password: a locked-out account's session ends here."""
    if lockout.is_locked_out(request.user):
        logout(request)
        return True
    return False


def requires_fresh_proof(back: str | None = None):
    """Send the user to "Confirm your password" first, then back. A request without
    fresh proof changes nothing. ``back`` names the page to return to when the view
    itself only accepts POST (the user repeats the action there)."""

    def decorate(view):
        @functools.wraps(view)
        def wrapped(request, *args, **kwargs):
            if proof_is_fresh(request):
                return view(request, *args, **kwargs)
            next_url = reverse(back) if back else request.get_full_path()
            query = urlencode({"next": next_url})
            return redirect(f"{reverse('accounts:confirm_password')}?{query}")

        return wrapped

    return decorate
