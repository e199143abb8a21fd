"""Sessions as the user sees them: where from, which browser, when last seen.

A ``UserSession`` record is written at login (the ``user_logged_in`` signal) and touched
at most once every ``SESSION_TOUCH_INTERVAL`` seconds (five minutes) by
``SessionActivityMiddleware``, so most requests write nothing. The touch also stores a
timestamp in the session, which makes Django save it and push its expiry on by
``SESSION_COOKIE_AGE``: that is the idle timeout (``SESSION_IDLE_TIMEOUT``), accurate to
within one touch interval, without ``SESSION_SAVE_EVERY_REQUEST`` writing on every request.

The session store stays the truth: the profile lists only records whose session still
exists and still authenticates this user (the password, session version and so on
unchanged); the others are dropped as they are found.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from importlib import import_module

from django.conf import settings
from django.contrib.auth import (
    BACKEND_SESSION_KEY,
    HASH_SESSION_KEY,
    SESSION_KEY,
    logout,
    update_session_auth_hash,
)
from django.db import transaction
from django.utils import timezone
from django.utils.crypto import constant_time_compare

from controlpanel.audit import log as audit
from controlpanel.kit.client_ip import client_ip

from .models import User, UserSession

SEEN_KEY = "_accounts_seen"  # when this session's record was last touched (epoch seconds)
RECORD_KEY = "_accounts_record"  # the session key the record was written under
SESSION_ENDED = audit.Action.SESSION_ENDED
USER_AGENT_LENGTH = UserSession._meta.get_field("user_agent").max_length

_BROWSERS = (
    ("Edg/", "Edge"),
    ("OPR/", "Opera"),
    ("Firefox/", "Firefox"),
    ("Chrome/", "Chrome"),
    ("Safari/", "Safari"),
    ("curl/", "curl"),
)
_SYSTEMS = (
    ("Windows", "Windows"),
    ("Android", "Android"),
    ("iPhone", "iOS"),
    ("iPad", "iPadOS"),
    ("Mac OS X", "macOS"),
    ("CrOS", "ChromeOS"),
    ("Linux", "Linux"),
)


def touch_interval() -> int:
    return int(getattr(settings, "SESSION_TOUCH_INTERVAL", 300))


def idle_timeout_text() -> str:
    minutes = max(1, round(settings.SESSION_COOKIE_AGE / 60))
    if minutes % 60:
        return f"{minutes} minute{'s' if minutes != 1 else ''}"
    hours = minutes // 60
    return f"{hours} hour{'s' if hours != 1 else ''}"


def browser_label(user_agent: str) -> str:
    """ "Firefox on Linux" from a User-Agent header; "Unknown browser" when unsure."""
    browser = next((name for marker, name in _BROWSERS if marker in user_agent), "")
    system = next((name for marker, name in _SYSTEMS if marker in user_agent), "")
    if browser and system:
        return f"{browser} on {system}"
    return browser or system or "Unknown browser"


def _store(session_key: str | None = None):
    return import_module(settings.SESSION_ENGINE).SessionStore(session_key=session_key)


def _user_agent(request) -> str:
    return request.META.get("HTTP_USER_AGENT", "")[:USER_AGENT_LENGTH]


def _write(request, user) -> None:
    session = request.session
    key = session.session_key
    if key is None:
        session.save()
        key = session.session_key
    previous = session.get(RECORD_KEY)
    session[SEEN_KEY] = int(time.time())
    session[RECORD_KEY] = key
    if previous and previous != key:
        # the key rotated (own password change, "end other sessions"): same session
        UserSession.objects.filter(session_key=previous, user=user).update(session_key=key)
    UserSession.objects.update_or_create(
        session_key=key,
        defaults={
            "user": user,
            "address": client_ip(request),
            "user_agent": _user_agent(request),
            "last_seen": timezone.now(),
        },
    )


def record_login(sender, request, user, **kwargs) -> None:
    """``user_logged_in``: the new session gets its record; records idle past the
    timeout are dropped while we are here."""
    if request is None or not hasattr(request, "session"):
        return
    _write(request, user)
    idle_since = timezone.now() - timezone.timedelta(seconds=settings.SESSION_COOKIE_AGE)
    UserSession.objects.filter(user=user, last_seen__lt=idle_since).delete()


def record_logout(sender, request, user, **kwargs) -> None:
    """``user_logged_out``: the session is gone, so is its record."""
    if request is None or not hasattr(request, "session"):
        return
    key = request.session.session_key
    if key:
        UserSession.objects.filter(session_key=key).delete()


def touch(request) -> None:
    """At most once per interval (or when the key has rotated): note the session as
    seen, which also extends its idle expiry."""
    session = request.session
    seen = session.get(SEEN_KEY)
    if (
        session.session_key is not None
        and session.get(RECORD_KEY) == session.session_key
        and isinstance(seen, int)
        and 0 <= time.time() - seen < touch_interval()
    ):
        return
    _write(request, request.user)


@dataclass(frozen=True)
class SessionRow:
    record: UserSession
    current: bool

    @property
    def browser(self) -> str:
        return browser_label(self.record.user_agent)


def _authenticates(data: dict, user: User) -> bool:
    if data.get(SESSION_KEY) != str(user.pk) or BACKEND_SESSION_KEY not in data:
        return False
    stored = data.get(HASH_SESSION_KEY) or ""
    secrets = [settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS]
    return any(
        constant_time_compare(stored, user._get_session_auth_hash(secret=secret))
        for secret in secrets
    )


def active_sessions(request) -> list[SessionRow]:
    """The signed-in user's live sessions, this one first. Records whose session has
    expired or no longer authenticates this user are removed."""
    user = request.user
    current = request.session.session_key
    rows, dead = [], []
    for record in UserSession.objects.filter(user=user):
        if record.session_key == current or _authenticates(_store(record.session_key).load(), user):
            rows.append(SessionRow(record, record.session_key == current))
        else:
            dead.append(record.pk)
    if dead:
        UserSession.objects.filter(pk__in=dead).delete()
    rows.sort(key=lambda row: (not row.current, -row.record.last_seen.timestamp()))
    return rows


@transaction.atomic
def session_end(*, request, record: UserSession) -> bool:
    """End one of the signed-in user's sessions; returns True when it was this one (the
    user is now signed out)."""
    if record.session_key == request.session.session_key:
        _audit_end(request, "Ended this session from the profile.")
        logout(request)
        return True
    _store(record.session_key).delete()
    record.delete()
    _audit_end(request, f"Ended a session from {record.address or 'an unknown address'}.")
    return False


@transaction.atomic
def sessions_end_others(*, request) -> int:
    """End every other session of the signed-in user, including any without a record:
    the session version changes, and this session is re-signed with it."""
    user = User.objects.select_for_update().get(pk=request.user.pk)
    others = list(
        UserSession.objects.filter(user=user).exclude(session_key=request.session.session_key)
    )
    user.end_sessions()
    user.save(update_fields=["session_version"])
    update_session_auth_hash(request, user)
    request.user = user
    _write(request, user)
    for record in others:
        _store(record.session_key).delete()
    UserSession.objects.filter(pk__in=[record.pk for record in others]).delete()
    _audit_end(request, f"Ended all other sessions ({len(others)} listed).")
    return len(others)


def _audit_end(request, message: str) -> None:
    audit.record(
        SESSION_ENDED,
        actor=request.user,
        address=client_ip(request),
        obj=request.user,
        message=message,
    )
