"""Writes to reseller accounts. ("Create Default Reseller" is
``permissions.services.group_create_default_reseller``.)

Creating and editing a reseller go through the generic area services (validated, audited);
deleting one is refused while anything still belongs to it, so nothing is orphaned."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import ProtectedError

from controlpanel.areas.services import (
    blocked_message,
    protected_message,
    snapshot,
)
from controlpanel.audit import log as audit

from .models import Reseller

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
