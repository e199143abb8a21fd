"""The business records behind the panel's areas.

Each model says once how its rows reach a reseller (``reseller_path``, read by
``resellers.selectors.scoped``); ``None`` means the rows are not reseller-scoped. Tickets
also name who raised them (``shared_by_path``), for the shared-ticket rule.
"""

from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import (
    MaxValueValidator,
    MinLengthValidator,
    MinValueValidator,
    RegexValidator,
)
from django.db import models
from django.db.models import Q, Sum
from django.db.models.functions import Lower
from django.utils.functional import cached_property

# A fixed list: rate cards and invoices use one of these ISO 4217 codes.
CURRENCIES = [
    ("USD", "USD — US dollar"),
    ("EUR", "EUR — euro"),
    ("GBP", "GBP — pound sterling"),
    ("CAD", "CAD — Canadian dollar"),
    ("AUD", "AUD — Australian dollar"),
    ("CHF", "CHF — Swiss franc"),
    ("ZAR", "ZAR — South African rand"),
    ("INR", "INR — Indian rupee"),
]

ZERO = Decimal("0")
ONE_CENT = Decimal("0.01")

digits_only = RegexValidator(r"^[0-9]+$", "Use digits only (0-9), without spaces or '+'.")
phone_number = RegexValidator(
    r"^\+?[0-9][0-9 \-]{4,22}[0-9]$",
    "Enter a phone number of 6 to 24 digits; an optional leading '+', spaces and dashes "
    "are allowed (e.g. +44 20 7946 0000).",
)
call_party = RegexValidator(
    r"^\+?[0-9]{3,20}$", "Enter 3 to 20 digits, with an optional leading '+'."
)


def not_negative(what: str) -> MinValueValidator:
    return MinValueValidator(ZERO, f"{what} cannot be negative.")


class Customer(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        SUSPENDED = "suspended", "Suspended"
        CLOSED = "closed", "Closed"

    reseller_path = "reseller"

    name = models.CharField(max_length=200)
    reseller = models.ForeignKey(
        "resellers.Reseller",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="customers",
        help_text="Leave empty for a direct customer.",
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    credit_limit = models.DecimalField(
        max_digits=12,
        decimal_places=2,
        default=ZERO,
        validators=[not_negative("The credit limit")],
    )
    balance = models.DecimalField(
        max_digits=12,
        decimal_places=2,
        default=ZERO,
        help_text="Negative when the customer owes money.",
    )
    low_balance_threshold = models.DecimalField(
        "low-balance alert below",
        max_digits=12,
        decimal_places=2,
        null=True,
        blank=True,
        help_text="Users who asked for alerts are e-mailed when the balance falls below this; "
        "leave empty for no low-balance alert.",
    )
    # Whether each alert has fired for the current crossing (controlpanel.areas.alerts):
    # set when it fires, cleared when the balance recovers, so it fires once per crossing.
    credit_alert_active = models.BooleanField(default=False, editable=False)
    low_balance_alert_active = models.BooleanField(default=False, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        # Unique per reseller (and among direct customers, see ``clean``), so a
        # reseller's user learns nothing about the names other resellers use.
        constraints = [
            models.UniqueConstraint(
                Lower("name"),
                "reseller",
                name="customer_name_unique_per_reseller_ci",
                violation_error_message="A customer with this name already exists.",
            )
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self):
        # The constraint treats NULLs as distinct: direct customers are checked here.
        if self.reseller_id is None and self.name:
            clash = Customer.objects.filter(reseller__isnull=True, name__iexact=self.name)
            if clash.exclude(pk=self.pk).exists():
                raise ValidationError({"name": "A customer with this name already exists."})


class Contact(models.Model):
    class Role(models.TextChoices):
        BILLING = "billing", "Billing"
        TECHNICAL = "technical", "Technical"
        COMMERCIAL = "commercial", "Commercial"
        OTHER = "other", "Other"

    reseller_path = "customer__reseller"

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="contacts")
    name = models.CharField(max_length=150)
    email = models.EmailField("e-mail")
    phone = models.CharField(max_length=24, blank=True, validators=[phone_number])
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.TECHNICAL)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Carrier(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        TESTING = "testing", "Testing"
        INACTIVE = "inactive", "Inactive"

    reseller_path = None  # upstream carriers belong to the operator, not to resellers

    name = models.CharField(max_length=200)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    contact_email = models.EmailField("contact e-mail")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                Lower("name"),
                name="carrier_name_unique_ci",
                violation_error_message="A carrier with this name already exists.",
            )
        ]

    def __str__(self) -> str:
        return self.name


class RateCard(models.Model):
    class Direction(models.TextChoices):
        OUTBOUND = "outbound", "Outbound"
        INBOUND = "inbound", "Inbound"

    reseller_path = "reseller"

    name = models.CharField(max_length=200)
    currency = models.CharField(max_length=3, choices=CURRENCIES, default="USD")
    direction = models.CharField(
        max_length=8, choices=Direction.choices, default=Direction.OUTBOUND
    )
    reseller = models.ForeignKey(
        "resellers.Reseller",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="rate_cards",
        help_text="The reseller this card is assigned to; empty for the operator's own.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name = "rate card"
        constraints = [
            models.UniqueConstraint(
                Lower("name"),
                name="rate_card_name_unique_ci",
                violation_error_message="A rate card with this name already exists.",
            )
        ]

    def __str__(self) -> str:
        return self.name


class Route(models.Model):
    reseller_path = "customer__reseller"

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="routes")
    prefix = models.CharField(
        max_length=15,
        validators=[digits_only],
        help_text="The dialled-number prefix this route matches, digits only (e.g. 4420).",
    )
    carrier = models.ForeignKey(Carrier, on_delete=models.PROTECT, related_name="routes")
    rate_card = models.ForeignKey(RateCard, on_delete=models.PROTECT, related_name="routes")
    priority = models.PositiveSmallIntegerField(
        default=1,
        validators=[
            MinValueValidator(1, "Use a priority from 1 (tried first) to 100."),
            MaxValueValidator(100, "Use a priority from 1 (tried first) to 100."),
        ],
        help_text="1 is tried first.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["customer__name", "prefix", "priority"]
        verbose_name = "route"
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "prefix", "carrier"],
                name="route_unique_per_customer_prefix_carrier",
                violation_error_message=(
                    "This customer already has a route for this prefix through this carrier."
                ),
            )
        ]

    def __str__(self) -> str:
        return f"{self.prefix} (priority {self.priority})"

    def clean(self):
        # A rate card assigned to a reseller prices that reseller's customers only.
        if self.rate_card_id and self.customer_id:
            card_reseller = self.rate_card.reseller_id
            if card_reseller is not None and card_reseller != self.customer.reseller_id:
                raise ValidationError(
                    {"rate_card": "This rate card is assigned to another reseller."}
                )


class Invoice(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        ISSUED = "issued", "Issued"
        PAID = "paid", "Paid"
        VOID = "void", "Void"

    reseller_path = "customer__reseller"

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="invoices")
    number = models.CharField(
        max_length=32,
        unique=True,
        validators=[
            RegexValidator(
                r"^[A-Za-z0-9][A-Za-z0-9\-/]*$",
                "Use letters, digits, '-' and '/' only (e.g. INV-2026-0042).",
            )
        ],
        error_messages={"unique": "An invoice with this number already exists."},
    )
    issue_date = models.DateField()
    amount = models.DecimalField(
        max_digits=12,
        decimal_places=2,
        validators=[MinValueValidator(ONE_CENT, "The amount must be at least 0.01.")],
    )
    currency = models.CharField(max_length=3, choices=CURRENCIES, default="USD")
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.ISSUED)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-issue_date", "-number"]

    def __str__(self) -> str:
        return self.number

    @cached_property
    def paid_total(self) -> Decimal:
        # Quantized: SQLite sums decimals as floats.
        total = self.payments.aggregate(total=Sum("amount"))["total"] or ZERO
        return Decimal(total).quantize(ONE_CENT)

    @property
    def outstanding(self) -> Decimal:
        return self.amount - self.paid_total


class Payment(models.Model):
    reseller_path = "invoice__customer__reseller"

    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="payments")
    paid_on = models.DateField("paid on")
    amount = models.DecimalField(
        max_digits=12,
        decimal_places=2,
        validators=[MinValueValidator(ONE_CENT, "The amount must be at least 0.01.")],
    )
    reference = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-paid_on", "-id"]

    def __str__(self) -> str:
        return f"{self.amount} on {self.paid_on:%Y-%m-%d}"


class CallRecord(models.Model):
    """One call. Written by the switch (and ``seed_demo``); read-only in the panel."""

    reseller_path = "customer__reseller"

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="call_records")
    start_time = models.DateTimeField("start time")
    caller = models.CharField(max_length=21, validators=[call_party])
    callee = models.CharField(max_length=21, validators=[call_party])
    duration = models.PositiveIntegerField("duration (s)")  # never negative, by type
    cost = models.DecimalField(
        max_digits=10, decimal_places=4, validators=[not_negative("The cost")]
    )

    class Meta:
        ordering = ["-start_time", "-id"]
        verbose_name = "call record"
        indexes = [
            models.Index(fields=["customer", "start_time"], name="cdr_customer_start"),
            models.Index(fields=["start_time"], name="cdr_start"),
        ]

    def __str__(self) -> str:
        return f"{self.caller} → {self.callee}"


class Ticket(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", "Open"
        PENDING = "pending", "Waiting for customer"
        CLOSED = "closed", "Closed"

    reseller_path = "customer__reseller"
    shared_by_path = "raised_by"

    subject = models.CharField(max_length=200, validators=[MinLengthValidator(3)])
    body = models.TextField()
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.OPEN)
    raised_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="tickets_raised",
        editable=False,
    )
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="tickets")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "ticket"

    def __str__(self) -> str:
        return self.subject


class TicketReply(models.Model):
    reseller_path = "ticket__customer__reseller"
    shared_by_path = "ticket__raised_by"

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="replies")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    body = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = "reply"
        verbose_name_plural = "replies"
        constraints = [models.CheckConstraint(condition=~Q(body=""), name="ticket_reply_not_empty")]

    def __str__(self) -> str:
        return f"Reply to {self.ticket_id}"
