"""Writes to reseller accounts and the default reseller group.

Creating and editing a reseller go through the generic area services (validated, audited);
deleting one is refused while anything still belongs to it, so nothing is orphaned."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import ProtectedError

from controlpanel.areas.services import (
    blocked_message,
    changes_between,
    protected_message,
    snapshot,
)
from permissions import audit
from permissions.models import Group
from permissions.services import group_create, rule_set

from .models import Reseller

CRUD = ("create", "read", "update", "delete")

# ACCESS_MODEL.md, "Create Default Reseller": the preset of a new reseller group.
DEFAULT_RESELLER_PRESET: dict[str, tuple[str, ...]] = {
    "customer": CRUD,
    "contact": CRUD,
    "routing": CRUD,
    "support-ticket": CRUD,
    "card": ("read",),
    "billing": ("read",),
    "cdr": ("read",),
}
DEFAULT_RESELLER_GROUP_NAME = "Reseller"

_AUDITED = ("name", "email", "active")


def _counted(n: int, singular: str, plural: str) -> tuple[str, int]:
    return (singular if n == 1 else plural), n


@transaction.atomic
def reseller_delete(*, actor, address: str | None, instance: Reseller) -> None:
    """Delete a reseller that nothing belongs to any more; otherwise refuse and say what
    still belongs to it (customers, users, groups, rate cards)."""
    reseller = Reseller.objects.select_for_update().get(pk=instance.pk)
    counts = dict(
        [
            _counted(reseller.customers.count(), "customer", "customers"),
            _counted(reseller.users.count(), "user", "users"),
            _counted(reseller.groups.count(), "group", "groups"),
            _counted(reseller.rate_cards.count(), "rate card", "rate cards"),
        ]
    )
    if any(counts.values()):
        raise ValidationError(blocked_message(reseller, counts))
    before = snapshot(reseller, _AUDITED)
    label, pk = str(reseller), reseller.pk
    try:
        reseller.delete()
    except ProtectedError as exc:  # something was linked since the counts above
        raise ValidationError(protected_message(reseller, exc.protected_objects)) from None
    audit.record(
        audit.Action.DELETE,
        actor=actor,
        address=address,
        object_type="reseller",
        object_id=str(pk),
        message=f"Deleted reseller “{label}”.",
        changes={name: [value, None] for name, value in before.items()},
    )


def _next_default_group_name() -> str:
    taken = {
        name.lower()
        for name in Group.objects.filter(name__istartswith=DEFAULT_RESELLER_GROUP_NAME).values_list(
            "name", flat=True
        )
    }
    name, n = DEFAULT_RESELLER_GROUP_NAME, 2
    while name.lower() in taken:
        name, n = f"{DEFAULT_RESELLER_GROUP_NAME} {n}", n + 1
    return name


@transaction.atomic
def reseller_default_group_create(
    *, actor=None, address: str | None = None, reseller: Reseller | None = None
) -> Group:
    """ "Create Default Reseller": a new group (Reseller, Reseller 2, …) holding the preset
    (CRUD on customer, contact, routing, support-ticket; read on card, billing, cdr;
    nothing on the settings areas). The group stays editable afterwards."""
    group = group_create(name=_next_default_group_name(), reseller=reseller)
    for area, actions in DEFAULT_RESELLER_PRESET.items():
        rule_set(group=group, area=area, actions=actions)
    audit.record(
        audit.Action.CREATE,
        actor=actor,
        address=address,
        obj=group,
        message=f"Created the default reseller group “{group}”.",
        changes=changes_between(
            {}, {f"rule {area}": ", ".join(acts) for area, acts in DEFAULT_RESELLER_PRESET.items()}
        ),
    )
    return group
