"""The area registry: the one list of the panel's functional areas.

The resolver, the group editor's area list, the docs, ``manage.py list_areas``, the
navigation and the API all read it. Each area is registered once, in one place:

- a business area (customers, billing, ...) by its ``AreaDefinition``
  (``controlpanel.areas.registry.register``), which carries its ``Area`` and registers it
  when the areas app is ready: the access core knows the area by its key without importing
  the business areas;
- a settings area (users, groups, resellers, the audit log) here, below: these are the
  access core's and the audit log's own pages. One with no ``AreaDefinition`` names its API
  viewset by a dotted path (``api_viewset``), so the API finds it without this module
  importing the API.

``all_areas()`` lists the business areas first, then the settings areas, each in the order
they were registered.
"""

from dataclasses import dataclass

ACTIONS: tuple[str, ...] = ("create", "read", "update", "delete")
ACTION_BITS: dict[str, int] = {action: 1 << i for i, action in enumerate(ACTIONS)}
ALL_ACTIONS_MASK = (1 << len(ACTIONS)) - 1


@dataclass(frozen=True)
class Area:
    key: str
    label: str
    description: str
    reseller_scoped: bool
    settings_area: bool = False
    # The dotted path of the API viewset of an area that has no ``AreaDefinition``.
    api_viewset: str = ""

    @property
    def api_path(self) -> str:
        return f"/api/cp/{self.key}"


_REGISTRY: dict[str, Area] = {}
_ORDERED: tuple[Area, ...] = ()


def _reorder() -> None:
    global _ORDERED
    areas = list(_REGISTRY.values())
    _ORDERED = tuple(
        [a for a in areas if not a.settings_area] + [a for a in areas if a.settings_area]
    )


def register(area: Area) -> Area:
    if area.key in _REGISTRY:
        raise ValueError(f"Area {area.key!r} is registered twice.")
    _REGISTRY[area.key] = area
    _reorder()
    return area


def unregister(key: str) -> None:
    """Take an area out again (a test's throwaway area)."""
    del _REGISTRY[key]
    _reorder()


def all_areas() -> tuple[Area, ...]:
    return _ORDERED


def area_keys() -> frozenset[str]:
    return frozenset(_REGISTRY)


def get_area(key: str) -> Area:
    try:
        return _REGISTRY[key]
    except KeyError:
        raise LookupError(f"Unknown area {key!r}.") from None


def is_area(key: str) -> bool:
    return key in _REGISTRY


def mask_of(actions) -> int:
    """The bit mask of an iterable of action names; unknown names raise ValueError."""
    mask = 0
    for action in actions:
        try:
            mask |= ACTION_BITS[action]
        except KeyError:
            raise ValueError(f"Unknown action {action!r}; use {', '.join(ACTIONS)}.") from None
    return mask


def actions_of(mask: int) -> list[str]:
    """Action names in a mask, always in CRUD order."""
    return [action for action in ACTIONS if mask & ACTION_BITS[action]]


# The settings areas. The business areas register themselves from their definitions
# (controlpanel/areas/definitions.py) when the areas app is ready.
for _area in (
    Area(
        "user",
        "Users",
        "logins",
        reseller_scoped=True,
        settings_area=True,
        api_viewset="controlpanel.api.users.UserViewSet",
    ),
    Area(
        "group",
        "Groups",
        "groups and their rules",
        reseller_scoped=False,
        settings_area=True,
        api_viewset="controlpanel.api.groups.GroupViewSet",
    ),
    # Served by the generic area views: its AreaDefinition (controlpanel/areas/resellers.py)
    # refers to this entry.
    Area("reseller", "Resellers", "reseller accounts", reseller_scoped=False, settings_area=True),
    Area(
        "audit-log",
        "Audit Log",
        "the audit trail, read-only",
        reseller_scoped=False,
        settings_area=True,
        api_viewset="controlpanel.api.audit_log.AuditLogViewSet",
    ),
    Area(
        "outbox",
        "Outbox",
        "e-mails queued, sent and failed; read to see them, update to send one again",
        reseller_scoped=True,
        settings_area=True,
        api_viewset="controlpanel.api.outbox.OutboxViewSet",
    ),
):
    register(_area)
