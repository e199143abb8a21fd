"""The business areas, one definition each. Adding an area: register it in
``controlpanel.kit.areas``, add its model and form, and add its definition here."""

from __future__ import annotations

from . import forms, services
from .models import CallRecord, Carrier, Contact, Customer, Invoice, RateCard, Route, Ticket
from .registry import AreaDefinition, ChildForm, Column, Related

ROUTE_COLUMNS = (
    Column("Prefix", "prefix", link=True),
    Column("Customer", "customer", link_area="customer"),
    Column("Carrier", "carrier", link_area="carrier"),
    Column("Rate card", "rate_card", link_area="card"),
    Column("Priority", "priority"),
)

CUSTOMER = AreaDefinition(
    key="customer",
    model=Customer,
    url_prefix="customers",
    form_class=forms.CustomerForm,
    columns=(
        Column("Name", "name", sort="name", link=True),
        Column("Reseller", "reseller", sort="reseller__name", link_area="reseller"),
        Column("Status", "status", sort="status"),
        Column("Credit limit", "credit_limit", sort="credit_limit"),
        Column("Balance", "balance", sort="balance"),
    ),
    detail_fields=(
        Column("Name", "name"),
        Column("Reseller", "reseller", link_area="reseller"),
        Column("Status", "status"),
        Column("Credit limit", "credit_limit"),
        Column("Balance", "balance"),
        Column("Low-balance alert below", "low_balance_threshold"),
        Column("Created", "created_at"),
    ),
    search_fields=("name", "reseller__name"),
    default_sort="name",
    select_related=("reseller",),
    related=(
        Related(
            area="contact",
            title="Contacts",
            rows=lambda customer: customer.contacts.all(),
            columns=(
                Column("Name", "name", link=True),
                Column("E-mail", "email"),
                Column("Phone", "phone"),
                Column("Role", "role"),
            ),
        ),
        Related(
            area="routing",
            title="Routes",
            rows=lambda customer: customer.routes.select_related(
                "customer", "carrier", "rate_card"
            ),
            columns=ROUTE_COLUMNS,
        ),
        Related(
            area="billing",
            title="Invoices",
            rows=lambda customer: customer.invoices.all(),
            columns=(
                Column("Number", "number", link=True),
                Column("Issued", "issue_date"),
                Column("Amount", "amount"),
                Column("Currency", "currency"),
                Column("Status", "status"),
            ),
        ),
    ),
)

CONTACT = AreaDefinition(
    key="contact",
    model=Contact,
    url_prefix="contacts",
    form_class=forms.ContactForm,
    columns=(
        Column("Name", "name", sort="name", link=True),
        Column("Customer", "customer", sort="customer__name", link_area="customer"),
        Column("E-mail", "email", sort="email"),
        Column("Phone", "phone"),
        Column("Role", "role", sort="role"),
    ),
    detail_fields=(
        Column("Name", "name"),
        Column("Customer", "customer", link_area="customer"),
        Column("E-mail", "email"),
        Column("Phone", "phone"),
        Column("Role", "role"),
    ),
    search_fields=("name", "email", "phone", "customer__name"),
    default_sort="name",
    select_related=("customer",),
)

CARRIER = AreaDefinition(
    key="carrier",
    model=Carrier,
    url_prefix="carriers",
    form_class=forms.CarrierForm,
    columns=(
        Column("Name", "name", sort="name", link=True),
        Column("Status", "status", sort="status"),
        Column("Contact e-mail", "contact_email", sort="contact_email"),
    ),
    detail_fields=(
        Column("Name", "name"),
        Column("Status", "status"),
        Column("Contact e-mail", "contact_email"),
        Column("Created", "created_at"),
    ),
    search_fields=("name", "contact_email"),
    default_sort="name",
    related=(
        Related(
            area="routing",
            title="Routes through this carrier",
            rows=lambda carrier: carrier.routes.select_related("customer", "carrier", "rate_card"),
            columns=ROUTE_COLUMNS,
        ),
    ),
)

CARD = AreaDefinition(
    key="card",
    model=RateCard,
    url_prefix="rate-cards",
    form_class=forms.RateCardForm,
    columns=(
        Column("Name", "name", sort="name", link=True),
        Column("Currency", "currency", sort="currency"),
        Column("Direction", "direction", sort="direction"),
        Column("Reseller", "reseller", sort="reseller__name", link_area="reseller"),
    ),
    detail_fields=(
        Column("Name", "name"),
        Column("Currency", "currency"),
        Column("Direction", "direction"),
        Column("Assigned to reseller", "reseller", link_area="reseller"),
        Column("Created", "created_at"),
    ),
    search_fields=("name", "currency", "reseller__name"),
    default_sort="name",
    select_related=("reseller",),
    related=(
        Related(
            area="routing",
            title="Routes priced by this card",
            rows=lambda card: card.routes.select_related("customer", "carrier", "rate_card"),
            columns=ROUTE_COLUMNS,
        ),
    ),
)

ROUTING = AreaDefinition(
    key="routing",
    model=Route,
    url_prefix="routes",
    form_class=forms.RouteForm,
    columns=(
        Column("Prefix", "prefix", sort="prefix", link=True),
        Column("Customer", "customer", sort="customer__name", link_area="customer"),
        Column("Carrier", "carrier", sort="carrier__name", link_area="carrier"),
        Column("Rate card", "rate_card", sort="rate_card__name", link_area="card"),
        Column("Priority", "priority", sort="priority"),
    ),
    detail_fields=(
        Column("Prefix", "prefix"),
        Column("Customer", "customer", link_area="customer"),
        Column("Carrier", "carrier", link_area="carrier"),
        Column("Rate card", "rate_card", link_area="card"),
        Column("Priority", "priority"),
        Column("Created", "created_at"),
    ),
    search_fields=("prefix", "customer__name", "carrier__name", "rate_card__name"),
    default_sort="prefix",
    select_related=("customer", "carrier", "rate_card"),
)

BILLING = AreaDefinition(
    key="billing",
    model=Invoice,
    url_prefix="billing",
    form_class=forms.InvoiceForm,
    columns=(
        Column("Number", "number", sort="number", link=True),
        Column("Customer", "customer", sort="customer__name", link_area="customer"),
        Column("Issued", "issue_date", sort="issue_date"),
        Column("Amount", "amount", sort="amount"),
        Column("Currency", "currency", sort="currency"),
        Column("Status", "status", sort="status"),
    ),
    detail_fields=(
        Column("Number", "number"),
        Column("Customer", "customer", link_area="customer"),
        Column("Issued", "issue_date"),
        Column("Amount", "amount"),
        Column("Currency", "currency"),
        Column("Status", "status"),
        Column("Paid so far", "paid_total"),
        Column("Still owed", "outstanding"),
    ),
    search_fields=("number", "customer__name"),
    default_sort="-issue_date",
    select_related=("customer",),
    related=(
        Related(
            area="billing",
            title="Payments",
            rows=lambda invoice: invoice.payments.all(),
            columns=(
                Column("Paid on", "paid_on"),
                Column("Amount", "amount"),
                Column("Reference", "reference"),
            ),
            limit=None,
            child=ChildForm(
                slug="payments",
                name="payment",
                label="Add a payment",
                form_class=forms.PaymentForm,
                action="create",
                create=services.payment_create,
                parent_arg="invoice",
            ),
        ),
    ),
)

CDR = AreaDefinition(
    key="cdr",
    model=CallRecord,
    url_prefix="cdrs",
    form_class=None,  # written by the switch; read-only in the panel
    columns=(
        Column("Start", "start_time", sort="start_time", link=True),
        Column("Customer", "customer", sort="customer__name", link_area="customer"),
        Column("Caller", "caller", sort="caller"),
        Column("Callee", "callee", sort="callee"),
        Column("Duration (s)", "duration", sort="duration"),
        Column("Cost", "cost", sort="cost"),
    ),
    detail_fields=(
        Column("Start", "start_time"),
        Column("Customer", "customer", link_area="customer"),
        Column("Caller", "caller"),
        Column("Callee", "callee"),
        Column("Duration (s)", "duration"),
        Column("Cost", "cost"),
    ),
    search_fields=("caller", "callee"),
    default_sort="-start_time",
    select_related=("customer",),
    filter_form=forms.CallRecordFilterForm,
    latest="-start_time",
    per_page=50,
    help="Call records are written by the switch and cannot be changed here.",
)

SUPPORT_TICKET = AreaDefinition(
    key="support-ticket",
    model=Ticket,
    url_prefix="support-tickets",
    form_class=forms.TicketForm,
    columns=(
        Column("Subject", "subject", sort="subject", link=True),
        Column("Customer", "customer", sort="customer__name", link_area="customer"),
        Column("Status", "status", sort="status"),
        Column("Raised by", "raised_by", sort="raised_by__email"),
        Column("Opened", "created_at", sort="created_at"),
        Column("Updated", "updated_at", sort="updated_at"),
    ),
    detail_fields=(
        Column("Subject", "subject"),
        Column("Customer", "customer", link_area="customer"),
        Column("Status", "status"),
        Column("Raised by", "raised_by"),
        Column("Opened", "created_at"),
        Column("Updated", "updated_at"),
        Column("Description", "body"),
    ),
    search_fields=("subject", "body", "customer__name"),
    default_sort="-updated_at",
    select_related=("customer", "raised_by"),
    create_values=lambda actor: {"raised_by": actor},
    related=(
        Related(
            area="support-ticket",
            title="Replies",
            rows=lambda ticket: ticket.replies.select_related("author"),
            columns=(
                Column("From", "author"),
                Column("At", "created_at"),
                Column("Reply", "body"),
            ),
            limit=None,
            child=ChildForm(
                slug="replies",
                name="reply",
                label="Reply",
                form_class=forms.TicketReplyForm,
                action="update",
                create=services.ticket_reply_create,
                parent_arg="ticket",
            ),
        ),
    ),
)

BUSINESS_AREAS: tuple[AreaDefinition, ...] = (
    CUSTOMER,
    CONTACT,
    CARRIER,
    CARD,
    ROUTING,
    BILLING,
    CDR,
    SUPPORT_TICKET,
)


def all_definitions() -> tuple[AreaDefinition, ...]:
    """Every area served by the generic views: the business areas and resellers."""
    from .resellers import RESELLERS

    return (*BUSINESS_AREAS, RESELLERS)
