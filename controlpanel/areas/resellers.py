"""The `reseller` area: reseller accounts under ``/settings/resellers/``, served by the
shared generic views like every area, its page listing the reseller's users, customers
and groups. Deleting a reseller is refused while anything still belongs to it, so nothing
is orphaned. (The Reseller model and the one row-scope selector are the ``resellers``
app; "Create Default Reseller" is ``permissions.services.group_create_default_reseller``.)
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import ProtectedError

from controlpanel.audit import log as audit
from controlpanel.kit.areas import get_area
from resellers.models import Reseller

from .forms import AreaForm
from .registry import AreaDefinition, Column, Related, register
from .services import blocked_message, protected_message, snapshot


class ResellerForm(AreaForm):
    """Company name (unique, whatever the case), contact e-mail and the active flag."""

    class Meta:
        model = Reseller
        fields = ["name", "email", "active"]
        labels = {"email": "E-mail"}
        help_texts = {
            "active": "Inactive resellers are not offered for new customers or rate cards."
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["email"].required = True

    def clean_name(self) -> str:
        return " ".join(self.cleaned_data["name"].split())


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


RESELLERS = register(
    AreaDefinition(
        area=get_area("reseller"),
        model=Reseller,
        url_prefix="resellers",
        form_class=ResellerForm,
        columns=(
            Column("Company name", "name", sort="name", link=True),
            Column("E-mail", "email", sort="email"),
            Column("Active", "active", sort="active"),
            Column("Created", "created_at", sort="created_at"),
        ),
        detail_fields=(
            Column("Company name", "name"),
            Column("E-mail", "email"),
            Column("Active", "active"),
            Column("Created", "created_at"),
        ),
        search_fields=("name", "email"),
        default_sort="name",
        delete_service=reseller_delete,
        related=(
            Related(
                area="user",
                title="Users",
                rows=lambda reseller: reseller.users.all(),
                columns=(
                    Column("E-mail", "email", link=True),
                    Column("Name", "name"),
                    Column("Role", "role"),
                    Column("Active", "is_active"),
                ),
                limit=25,
            ),
            Related(
                area="customer",
                title="Customers",
                rows=lambda reseller: reseller.customers.all(),
                columns=(
                    Column("Name", "name", link=True),
                    Column("Status", "status"),
                    Column("Balance", "balance"),
                ),
                limit=25,
            ),
            Related(
                area="group",
                title="Groups",
                rows=lambda reseller: reseller.groups.all(),
                columns=(Column("Name", "name", link=True),),
                limit=25,
            ),
        ),
    )
)
