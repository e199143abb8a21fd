"""The one way to write the audit trail, and the reads the audit pages share.

Entries are never edited or deleted (the model refuses); ``manage.py prune_audit`` is the
only way old entries go.
"""

from __future__ import annotations

import datetime
import json
import logging
from dataclasses import dataclass
from urllib.parse import urlencode

from django.core.exceptions import ImproperlyConfigured
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, models
from django.db.models import Q, QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import LazyObject, empty

from controlpanel.kit.bulk import insert_values
from controlpanel.kit.rowscope import reseller_id_of, reseller_path_of

from .models import AuditEntry

logger = logging.getLogger("controlpanel.audit")

SECRET_FIELDS = frozenset(
    {"password", "session_version", "access_version", "access_stamp", "token", "key"}
)
# Any field whose name contains one of these is a credential and never written.
SECRET_MARKERS = ("password", "secret", "token")


class Action:
    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"
    LOGIN = "login"
    LOGIN_FAILED = "login failed"
    LOGOUT = "logout"
    REFUSED = "refused"
    WHITELIST_BLOCK = "whitelist block"
    PASSWORD_CHANGE = "password change"  # noqa: S105 (an action name)
    IMPORT = "import"
    COMMAND = "command"
    REVIEW = "access review"
    PRUNE = "prune"
    INVITE_SENT = "invite sent"
    INVITE_ACCEPTED = "invite accepted"
    VERIFICATION_SENT = "verification sent"
    EMAIL_VERIFIED = "e-mail verified"
    RESET_REQUESTED = "reset requested"
    RESET_THROTTLED = "reset throttled"
    RESET_LINK_SENT = "reset link sent"
    PASSWORD_RESET = "password reset"  # noqa: S105 (an action name)
    UNLOCK = "unlock"
    TWO_FACTOR_ENABLED = "2fa enabled"
    TWO_FACTOR_DISABLED = "2fa disabled"
    RECOVERY_CODES_MADE = "2fa recovery codes"
    TWO_FACTOR_RESET = "2fa reset"
    TOKENS_REVOKED = "api tokens revoked"
    SESSION_ENDED = "session ended"
    PASSKEY_ADDED = "passkey added"
    PASSKEY_REMOVED = "passkey removed"
    PASSKEY_COUNTER = "passkey counter regression"
    SSO_LINKED = "sso linked"
    SSO_UNLINKED = "sso unlinked"
    SSO_GROUPS = "sso groups"
    OUTBOX_RETRY = "mail sent again"
    ALERT_SENT = "alert sent"
    REVIEW_REMINDER = "review reminder"
    REVIEW_SCHEDULE = "review schedule"


# The audit page's action filter offers these, in this order.
ACTIONS: tuple[str, ...] = tuple(
    value for name, value in vars(Action).items() if name.isupper() and isinstance(value, str)
)


def _is_secret(field_name: str) -> bool:
    name = str(field_name).lower()
    return name in SECRET_FIELDS or any(marker in name for marker in SECRET_MARKERS)


def _reseller_id_of(obj) -> int | None:
    """The reseller whose rows ``obj`` is among, as the row scope declares it
    (``controlpanel.kit.rowscope``: the same ``reseller_path`` that
    ``resellers.selectors.scoped`` filters by, and that the area registry's
    reseller-scoped flag describes): a contact, route, payment or ticket reply through
    its customer; None for a row that is not reseller-scoped (a carrier, a
    group, even one made for a reseller, a reseller account) or declares no scope."""
    if obj is None:
        return None
    if isinstance(obj, LazyObject):  # request.user: the selector needs the model instance
        if obj._wrapped is empty:
            obj._setup()
        obj = obj._wrapped
    try:
        path = reseller_path_of(type(obj))
    except ImproperlyConfigured:
        return None
    return reseller_id_of(obj) if path is not None else None


def record(
    action: str,
    *,
    actor=None,
    actor_label: str = "",
    address: str | None = None,
    obj=None,
    object_type: str = "",
    object_id: str = "",
    message: str = "",
    changes: dict | None = None,
    reseller=None,
) -> AuditEntry:
    """Write one audit entry.

    ``actor`` is a user; ``actor_label`` names a command or 'system' when there is none.
    ``changes`` maps a field to ``{"before": old, "after": new}`` (either may be left out
    for a create or a delete) or to ``{"added": [...], "removed": [...]}``; secret fields
    are dropped. The entry is visible to the users of ``reseller`` when given, else of the
    object's reseller (its own or its customer's), else of the actor's reseller.
    """
    entry = entry_for(
        action,
        actor=actor,
        actor_label=actor_label,
        address=address,
        obj=obj,
        object_type=object_type,
        object_id=object_id,
        message=message,
        changes=changes,
        reseller=reseller,
    )
    entry.save()
    logger.info(
        "%s %s %s:%s %s", entry.actor_label, action, entry.object_type, entry.object_id, message
    )
    return entry


# Columns whose value COPY takes as the entry holds it (a string, a number, an aware
# datetime, an id); the others go through their field's own conversion (JSON, addresses).
_AS_HELD = {models.CharField, models.TextField, models.ForeignKey, models.DateTimeField}


def record_many(entries: list[AuditEntry]) -> None:
    """Write entries built by ``entry_for`` in one bulk insert (a bulk import audits each
    user it changes without a statement per user)."""
    if connection.vendor == "postgresql" and entries:
        # COPY: a bulk import's tens of thousands of entries in a fraction of the time
        # an INSERT of them takes (the same rows; no id comes back, none is needed).
        fields = [field for field in AuditEntry._meta.concrete_fields if not field.primary_key]
        converted = [(f.attname, None if type(f) in _AS_HELD else f) for f in fields]
        db = connection
        insert_values(
            AuditEntry,
            [name for name, _field in converted],
            (
                [
                    held[name] if field is None else field.get_db_prep_save(held[name], db)
                    for name, field in converted
                ]
                for held in (entry.__dict__ for entry in entries)
            ),
        )
    else:
        AuditEntry.objects.bulk_create(entries)
    if entries:  # one log line, not one per entry
        logger.info("%s wrote %d audit entries", entries[0].actor_label, len(entries))


def record_plain(
    action: str,
    *,
    actor_label: str,
    object_type: str,
    rows: list[tuple[object, int | None, str, dict]],
) -> None:
    """Many entries by no signed-in actor (a command: ``actor_label``) about objects of
    one type, from plain values: ``(object id, reseller id, message, changes)`` each, the
    changes already plain JSON. The same rows as ``record_many`` of ``entry_for(action,
    actor_label=..., object_type=..., object_id=..., reseller=..., message=...,
    changes=..., plain_changes=True)``, without a model instance per entry (a bulk import
    audits every user it creates). Every entry of one call has the same time."""
    if connection.vendor != "postgresql" or not rows:
        record_many(
            [
                entry_for(
                    action,
                    actor_label=actor_label,
                    object_type=object_type,
                    object_id=object_id,
                    reseller=reseller_id,
                    message=message,
                    changes=changes,
                    plain_changes=True,
                )
                for object_id, reseller_id, message, changes in rows
            ]
        )
        return
    label = (actor_label or "system")[:254]
    object_type = object_type[:64]
    changes_field = AuditEntry._meta.get_field("changes")
    at = timezone.now()
    insert_values(
        AuditEntry,
        (
            "at",
            "actor_id",
            "actor_label",
            "address",
            "action",
            "object_type",
            "object_id",
            "message",
            "changes",
            "reseller_id",
        ),
        (
            (
                at,
                None,
                label,
                None,
                action,
                object_type,
                str(object_id)[:64],
                message,
                changes_field.get_db_prep_save(
                    {k: v for k, v in changes.items() if not _is_secret(k)}, connection
                ),
                reseller_id,
            )
            for object_id, reseller_id, message, changes in rows
        ),
    )
    logger.info("%s wrote %d audit entries", label, len(rows))


def entry_for(
    action: str,
    *,
    actor=None,
    actor_label: str = "",
    address: str | None = None,
    obj=None,
    object_type: str = "",
    object_id: str = "",
    message: str = "",
    changes: dict | None = None,
    reseller=None,
    plain_changes: bool = False,
) -> AuditEntry:
    """The entry ``record`` writes, unsaved (same arguments). ``plain_changes``: the
    changes hold only strings, numbers, booleans, None, lists and dicts already, so the
    conversion to plain JSON is skipped (a bulk import builds thousands)."""
    if actor is not None and not getattr(actor, "is_authenticated", False):
        actor = None
    if obj is not None:
        object_type = object_type or obj._meta.model_name
        object_id = object_id or str(obj.pk)
    label = actor_label or (actor.email if actor is not None else "system")
    clean_changes = {k: v for k, v in (changes or {}).items() if not _is_secret(k)}
    if not plain_changes:
        # Stored as plain JSON: dates, decimals and UUIDs become strings once, here.
        clean_changes = json.loads(json.dumps(clean_changes, cls=DjangoJSONEncoder))
    if reseller is not None:
        reseller_id = getattr(reseller, "pk", reseller)
    else:
        reseller_id = _reseller_id_of(obj) or getattr(actor, "reseller_id", None)
    return AuditEntry(
        actor=actor,
        actor_label=label[:254],
        address=address,
        action=action,
        object_type=object_type[:64],
        object_id=str(object_id)[:64],
        message=message,
        changes=clean_changes,
        reseller_id=reseller_id,
    )


# --- Reads -------------------------------------------------------------------------------


def object_key(obj=None, object_type: str = "", object_id="") -> tuple[str, str]:
    """``(object_type, object_id)`` as ``record`` stores them for ``obj``."""
    if obj is not None:
        return obj._meta.model_name, str(obj.pk)
    return str(object_type), str(object_id)


def history_url(obj=None, object_type: str = "", object_id="") -> str:
    """The audit list filtered to one object's entries."""
    kind, ident = object_key(obj, object_type, object_id)
    return f"{reverse('audit-log-list')}?{urlencode({'object_type': kind, 'object_id': ident})}"


@dataclass(frozen=True)
class ChangeRow:
    field: str
    before: str | None  # None: the field had no value before (a create)
    after: str | None  # None: the field has no value after (a delete)
    changed: bool


def _text(value) -> str:
    if isinstance(value, list | tuple):
        return ", ".join(_text(item) for item in value) if value else "(none)"
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True)
    if value is None:
        return "(empty)"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def change_rows(changes) -> list[ChangeRow]:
    """An entry's ``changes`` as rows of a before/after table, in field order."""
    rows = []
    for field_name, change in (changes or {}).items():
        if isinstance(change, dict) and ({"before", "after"} & change.keys()):
            before = _text(change["before"]) if "before" in change else None
            after = _text(change["after"]) if "after" in change else None
        elif isinstance(change, dict) and ({"added", "removed"} & change.keys()):
            removed, added = change.get("removed") or [], change.get("added") or []
            before = f"removed: {_text(removed)}" if removed else None
            after = f"added: {_text(added)}" if added else None
        elif isinstance(change, list | tuple) and len(change) == 2:
            before, after = _text(change[0]), _text(change[1])
        else:
            before, after = None, _text(change)
        rows.append(ChangeRow(str(field_name), before, after, before != after))
    return rows


# --- The audit list: filters and keyset pages --------------------------------------------

_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)
_ONE_MICROSECOND = datetime.timedelta(microseconds=1)


def encode_cursor(entry: AuditEntry) -> str:
    """A page boundary: the entry's time (microseconds since 1970, UTC) and id."""
    return f"{(entry.at - _EPOCH) // _ONE_MICROSECOND}-{entry.pk}"


def decode_cursor(value: str) -> tuple[datetime.datetime, int]:
    """The inverse of ``encode_cursor``; ValueError for anything else."""
    micros, sep, ident = value.partition("-")
    if not sep or not micros.isdigit() or not ident.isdigit():
        raise ValueError("not a page cursor")
    return _EPOCH + int(micros) * _ONE_MICROSECOND, int(ident)


def filter_entries(
    entries: QuerySet[AuditEntry],
    *,
    actor: str = "",
    action: str = "",
    object_type: str = "",
    object_id: str = "",
    date_from: datetime.date | None = None,
    date_to: datetime.date | None = None,
    tz: datetime.tzinfo | None = None,
) -> QuerySet[AuditEntry]:
    """Narrow ``entries``. Dates are whole days in ``tz`` (the viewer's time zone): from
    the start of ``date_from`` to the end of ``date_to``, both included."""
    tz = tz or timezone.get_current_timezone()
    if actor:
        entries = entries.filter(actor_label__icontains=actor)
    if action:
        entries = entries.filter(action=action)
    if object_type:
        entries = entries.filter(object_type=object_type)
    if object_id:
        entries = entries.filter(object_id=object_id)
    if date_from:
        start = datetime.datetime.combine(date_from, datetime.time.min, tzinfo=tz)
        entries = entries.filter(at__gte=start)
    if date_to:
        end = datetime.datetime.combine(
            date_to + datetime.timedelta(days=1), datetime.time.min, tzinfo=tz
        )
        entries = entries.filter(at__lt=end)
    return entries


@dataclass(frozen=True)
class EntryPage:
    entries: list[AuditEntry]
    older: str | None  # cursor for the next, older page; None on the last page
    newer: str | None  # cursor for the previous, newer page; None on the first page


def entries_page(
    entries: QuerySet[AuditEntry],
    *,
    older_than: str = "",
    newer_than: str = "",
    oldest: bool = False,
    size: int = 50,
) -> EntryPage:
    """One page of ``entries``, newest first, by keyset on (time, id): every page costs
    one indexed query, however deep, and rows written meanwhile never shift a page.
    ``oldest``: the last page, read from the other end of the index.

    Each boundary is written ``at <= t AND (at < t OR id < i)``: the first part is a range
    on the (time, id) index, so the scan starts at the page; a plain OR is a filter that
    walks the index from the newest entry to the page, longer the deeper the page."""
    if newer_than or (oldest and not older_than):
        rows = entries
        if newer_than:
            at, ident = decode_cursor(newer_than)
            rows = rows.filter(Q(at__gte=at) & (Q(at__gt=at) | Q(id__gt=ident)))
        rows = list(rows.order_by("at", "id")[: size + 1])
        has_newer = len(rows) > size
        rows = rows[:size][::-1]
        return EntryPage(
            rows,
            older=encode_cursor(rows[-1]) if rows and newer_than else None,
            newer=encode_cursor(rows[0]) if rows and has_newer else None,
        )
    if older_than:
        at, ident = decode_cursor(older_than)
        entries = entries.filter(Q(at__lte=at) & (Q(at__lt=at) | Q(id__lt=ident)))
    rows = list(entries.order_by("-at", "-id")[: size + 1])
    has_older = len(rows) > size
    rows = rows[:size]
    return EntryPage(
        rows,
        older=encode_cursor(rows[-1]) if rows and has_older else None,
        newer=encode_cursor(rows[0]) if rows and older_than else None,
    )
