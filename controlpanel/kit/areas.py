"""The area registry: the one list of the panel's functional areas.

The group editor's area list, the docs, ``manage.py list_areas``, the navigation and the
API are all read from here. Adding an area is one ``register`` call plus its model and
forms.
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

    @property
    def api_path(self) -> str:
        return f"/api/cp/{self.key}"


_REGISTRY: dict[str, Area] = {}


def register(area: Area) -> Area:
    if area.key in _REGISTRY:
        raise ValueError(f"Area {area.key!r} is registered twice.")
    _REGISTRY[area.key] = area
    return area


def all_areas() -> tuple[Area, ...]:
    return tuple(_REGISTRY.values())


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


for _area in (
    Area("customer", "Customers", "customer companies", reseller_scoped=True),
    Area("contact", "Contacts", "people at customers", reseller_scoped=True),
    Area("carrier", "Carriers", "upstream carriers", reseller_scoped=False),
    Area("card", "Rate Cards", "rate cards", reseller_scoped=True),
    Area(
        "routing", "Routing", "customer routes (prefix, carrier, rate card)", reseller_scoped=True
    ),
    Area("billing", "Billing", "invoices and payments", reseller_scoped=True),
    Area("cdr", "CDR", "call records, read-only in the UI", reseller_scoped=True),
    Area("support-ticket", "Support Tickets", "tickets", reseller_scoped=True),
    Area("user", "Users", "logins", reseller_scoped=True, settings_area=True),
    Area("group", "Groups", "groups and their rules", reseller_scoped=False, settings_area=True),
    Area("reseller", "Resellers", "reseller accounts", reseller_scoped=False, settings_area=True),
    Area(
        "audit-log",
        "Audit Log",
        "the audit trail, read-only",
        reseller_scoped=False,
        settings_area=True,
    ),
    Area(
        "outbox",
        "Outbox",
        "e-mails queued, sent and failed; read to see them, update to send one again",
        reseller_scoped=True,
        settings_area=True,
    ),
):
    register(_area)
