"""Every area of the registry and the API that serves it.

The business areas and resellers get theirs from their ``AreaDefinition``
(``records.area_api``); users, groups, the audit log and the outbox have their own viewsets. An area
registered in ``controlpanel.kit.areas`` with no API here stops the project from starting, so
no area is silently left out.
"""

from __future__ import annotations

from functools import cache

from django.core.exceptions import ImproperlyConfigured

from controlpanel.areas.definitions import all_definitions
from controlpanel.kit.areas import all_areas

from .audit_log import AuditLogViewSet
from .groups import GroupViewSet
from .outbox import OutboxViewSet
from .records import AreaApi, area_api
from .users import UserViewSet

SETTINGS_APIS = (
    AreaApi("user", UserViewSet, read_only=False),
    AreaApi("group", GroupViewSet, read_only=False),
    AreaApi("audit-log", AuditLogViewSet, read_only=True),
    AreaApi("outbox", OutboxViewSet, read_only=True),
)


@cache
def area_apis() -> dict[str, AreaApi]:
    """Area key → its API, in the registry's order."""
    apis = {definition.key: area_api(definition) for definition in all_definitions()}
    apis.update({api.key: api for api in SETTINGS_APIS})
    missing = [area.key for area in all_areas() if area.key not in apis]
    if missing:
        raise ImproperlyConfigured(f"Areas without an API: {', '.join(missing)}.")
    return {area.key: apis[area.key] for area in all_areas()}
