"""Login throttling with django-axes: per account and per client address.

Failed sign-ins are counted by the e-mail's identity key (``accounts.identity``: the
canonical address, or for a look-alike the address it imitates) and, separately, by the
client address that ``controlpanel.kit.client_ip.client_ip`` decides (so a forged X-Forwarded-For
neither resets nor spreads the count). Either count reaching ``AXES_FAILURE_LIMIT``
within the cool-off pauses sign-in for that account, or from that address, until the
cool-off has passed or an administrator unlocks it. A locked-out attempt gets the very
same page as a wrong password (``lockout_response``), so a lockout reveals nothing about
whether the account exists. Settings: controlpanel/settings/base.py; docs/security.md.
"""

from __future__ import annotations

from axes.backends import AxesStandaloneBackend
from axes.conf import settings
from axes.helpers import get_cool_off
from axes.models import AccessAttempt
from axes.utils import reset
from django.db.models import Sum
from django.utils import timezone

from .identity import identity_key


def username_key(request, credentials) -> str | None:
    """The account key axes counts under: the e-mail's identity key, so
    ``Ada@Example.com``, ``ada@example.com`` and a look-alike with a Cyrillic a (U+0430)
    in place of the Latin one share one counter. Empty means none."""
    if credentials is not None:
        # authenticate()'s keyword in the failure signal; axes' own form-field key in
        # the backend's check
        raw = credentials.get("username") or credentials.get(settings.AXES_USERNAME_FORM_FIELD)
    else:
        raw = request.POST.get("email") if request is not None else None
    key = identity_key(raw or "")
    return key or None


def lockout_response(request, original_response, credentials):
    """A locked-out attempt answers exactly like any failed sign-in: the login page the
    view rendered with its usual error, same status and wording."""
    return original_response


class LockoutBackend(AxesStandaloneBackend):
    """axes' gate, first in AUTHENTICATION_BACKENDS. ``authenticate`` without a request
    (the shell, ``Client.login`` in tests) is not a network attempt and has no client
    address: axes would refuse it outright, so it is passed on to the next backend."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)


def unlock(*, email: str = "", address: str = "") -> int:
    """Clear the failed attempts counted for an account and/or an address; returns how
    many records were removed."""
    removed = 0
    key = identity_key(email)
    if key:
        removed += reset(username=key)
    if address:
        removed += reset(ip=address)
    return removed


def _recent_attempts():
    period = get_cool_off()
    if period is None:  # no cool-off: attempts count until an administrator unlocks
        return AccessAttempt.objects.all()
    return AccessAttempt.objects.filter(attempt_time__gte=timezone.now() - period)


def locked_out_emails(emails) -> set[str]:
    """Which of these e-mail addresses are locked out now (one query, for a list)."""
    key_of = {email: identity_key(email) for email in emails if email}
    keys = set(key_of.values()) - {""}
    if not keys:
        return set()
    rows = (
        _recent_attempts()
        .filter(username__in=keys)
        .values("username")
        .annotate(failures=Sum("failures_since_start"))
        .filter(failures__gte=settings.AXES_FAILURE_LIMIT)
    )
    locked = {row["username"] for row in rows}
    return {email for email, key in key_of.items() if key in locked}


def is_locked_out(user) -> bool:
    return bool(locked_out_emails([user.email]))


def failures_for(email: str) -> int:
    total = (
        _recent_attempts()
        .filter(username=identity_key(email))
        .aggregate(failures=Sum("failures_since_start"))["failures"]
    )
    return total or 0


def locked_out_usernames():
    """The account keys (case-folded e-mails) locked out now, as a subquery a users list
    filters by: ``email__in=locked_out_usernames()``."""
    return (
        _recent_attempts()
        .values("username")
        .annotate(failures=Sum("failures_since_start"))
        .filter(failures__gte=settings.AXES_FAILURE_LIMIT)
        .values("username")
    )


def _credentials(user) -> dict:
    return {"username": user.email if user is not None else ""}


def sign_in_locked(request, user) -> bool:
    """Whether a sign-in that does not go through ``authenticate()`` (a passkey) is
    paused for this account or this client address, as a password would be."""
    from axes.handlers.proxy import AxesProxyHandler

    return AxesProxyHandler.is_locked(request, credentials=_credentials(user))


def count_failure(request, user) -> None:
    """A failed sign-in by other means than a password (a passkey): counted against the
    account where one is known (``user``) and the client address, as a wrong password
    is (axes listens to ``user_login_failed``)."""
    from django.contrib.auth.signals import user_login_failed

    user_login_failed.send(sender=__name__, credentials=_credentials(user), request=request)
