"""The one way to write the audit trail. Entries are never edited or deleted here."""

from __future__ import annotations

import logging

from .models import AuditEntry

logger = logging.getLogger("controlpanel.audit")

SECRET_FIELDS = frozenset({"password", "session_version", "access_version", "token", "key"})


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
) -> AuditEntry:
    """Write one audit entry. ``actor`` is a user; ``actor_label`` names a command or
    'system' when there is none. Secret fields are dropped from ``changes``."""
    if actor is not None and not getattr(actor, "is_authenticated", False):
        actor = None
    if obj is not None:
        object_type = object_type or obj._meta.model_name
        object_id = object_id or str(obj.pk)
    label = actor_label or (actor.email if actor is not None else "system")
    clean_changes = {k: v for k, v in (changes or {}).items() if k not in SECRET_FIELDS}
    entry = AuditEntry.objects.create(
        actor=actor,
        actor_label=label[:254],
        address=address,
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        message=message,
        changes=clean_changes,
    )
    logger.info("%s %s %s:%s %s", label, action, object_type, object_id, message)
    return entry
