"""The reseller pages (the `reseller` area, under ``/settings/resellers/``).

They are the shared generic views of ``controlpanel.areas``, parameterised by this
definition; a reseller's page lists its users, customers and groups."""

from controlpanel.areas.registry import AreaDefinition, Column, Related

from .forms import ResellerForm
from .models import Reseller
from .services import reseller_delete

RESELLERS = AreaDefinition(
    key="reseller",
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
