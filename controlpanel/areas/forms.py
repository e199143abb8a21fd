"""Forms for the business areas. They only clean input; the scope of every choice comes
from ``resellers.selectors.scoped``, so a reseller's user is never offered (and cannot
post) another reseller's rows."""

from __future__ import annotations

import datetime

from django import forms
from django.db.models import Q
from django.utils import timezone

from controlpanel.kit.forms import DateInput
from resellers.models import Reseller
from resellers.selectors import forced_reseller_field, scoped

from .models import (
    Carrier,
    Contact,
    Customer,
    Invoice,
    Payment,
    RateCard,
    Route,
    Ticket,
    TicketReply,
)

DATE_RANGE_BACKWARDS = "The end date is before the start date."


class AreaForm(forms.ModelForm):
    """A model form for one area, built for one user.

    Every choice of related rows is narrowed to the user's scope; a reseller's user does
    not choose the reseller of the rows they create (their own is set)."""

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        self.fixed_reseller = None  # shown on the form instead of a choice
        forced = forced_reseller_field(self._meta.model, user)
        if forced:
            self.fields.pop(forced, None)
            setattr(self.instance, f"{forced}_id", user.reseller_id)
            self.fixed_reseller = user.reseller
        for name, field in self.fields.items():
            if isinstance(field, forms.ModelChoiceField):
                queryset = scoped(field.queryset, user)
                if queryset.model is Reseller:
                    # Inactive resellers get no new rows; a row's current one stays valid.
                    current = getattr(self.instance, f"{name}_id", None)
                    queryset = queryset.filter(Q(active=True) | Q(pk=current))
                field.queryset = queryset


class CustomerForm(AreaForm):
    class Meta:
        model = Customer
        fields = ["name", "reseller", "status", "credit_limit", "balance", "low_balance_threshold"]


class ContactForm(AreaForm):
    class Meta:
        model = Contact
        fields = ["customer", "name", "email", "phone", "role"]
        widgets = {"phone": forms.TextInput(attrs={"inputmode": "tel"})}


class CarrierForm(AreaForm):
    class Meta:
        model = Carrier
        fields = ["name", "status", "contact_email"]


class RateCardForm(AreaForm):
    class Meta:
        model = RateCard
        fields = ["name", "currency", "direction", "reseller"]


class RouteForm(AreaForm):
    class Meta:
        model = Route
        fields = ["customer", "prefix", "carrier", "rate_card", "priority"]
        widgets = {"prefix": forms.TextInput(attrs={"inputmode": "numeric"})}


class InvoiceForm(AreaForm):
    class Meta:
        model = Invoice
        fields = ["customer", "number", "issue_date", "amount", "currency", "status"]
        widgets = {"issue_date": DateInput()}


class PaymentForm(forms.ModelForm):
    class Meta:
        model = Payment
        fields = ["paid_on", "amount", "reference"]
        widgets = {"paid_on": DateInput()}

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.initial.setdefault("paid_on", timezone.localdate())


class TicketForm(AreaForm):
    class Meta:
        model = Ticket
        fields = ["customer", "subject", "body", "status"]
        widgets = {"body": forms.Textarea(attrs={"rows": 6})}


class TicketReplyForm(forms.ModelForm):
    class Meta:
        model = TicketReply
        fields = ["body"]
        labels = {"body": "Reply"}
        widgets = {"body": forms.Textarea(attrs={"rows": 4})}

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)


class CallRecordFilterForm(forms.Form):
    """Filters of the CDR list: one customer (of the user's scope) and a date range in
    the user's own time zone."""

    customer = forms.ModelChoiceField(
        queryset=Customer.objects.all(), required=False, empty_label="All customers"
    )
    date_from = forms.DateField(label="From", required=False, widget=DateInput())
    date_to = forms.DateField(label="To", required=False, widget=DateInput())

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["customer"].queryset = scoped(Customer, user)

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        if start and end and end < start:
            self.add_error("date_to", DATE_RANGE_BACKWARDS)
        return cleaned

    def filter(self, queryset):
        """Narrow ``queryset`` by the filters that are valid; invalid ones are shown as
        errors and ignored."""
        self.is_valid()
        values = getattr(self, "cleaned_data", {})
        if values.get("customer"):
            queryset = queryset.filter(customer=values["customer"])
        if values.get("date_from"):
            queryset = queryset.filter(start_time__gte=_start_of(values["date_from"]))
        if values.get("date_to"):  # a backwards range left it out of cleaned_data
            end = _start_of(values["date_to"] + datetime.timedelta(days=1))
            queryset = queryset.filter(start_time__lt=end)
        return queryset


def _start_of(day: datetime.date) -> datetime.datetime:
    """Midnight at the start of ``day`` in the current (the user's) time zone."""
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))
