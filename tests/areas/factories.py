"""Factories for the business records. A row belongs to a reseller through its customer;
``CustomerFactory(reseller=...)`` decides whose it is."""

import datetime
from decimal import Decimal

import factory
from django.utils import timezone

from controlpanel.areas.models import (
    CallRecord,
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
from tests.factories import UserFactory


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    name = factory.Sequence(lambda n: f"Customer {n:03d}")
    reseller = None
    credit_limit = Decimal("1000.00")
    balance = Decimal("250.00")


class ContactFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Contact

    customer = factory.SubFactory(CustomerFactory)
    name = factory.Sequence(lambda n: f"Contact {n:03d}")
    email = factory.Sequence(lambda n: f"contact{n}@customer.example")
    phone = "+44 20 7946 0000"


class CarrierFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Carrier

    name = factory.Sequence(lambda n: f"Carrier {n:03d}")
    contact_email = factory.Sequence(lambda n: f"noc{n}@carrier.example")


class RateCardFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = RateCard

    name = factory.Sequence(lambda n: f"Rate card {n:03d}")
    currency = "USD"
    reseller = None


class RouteFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Route

    customer = factory.SubFactory(CustomerFactory)
    prefix = factory.Sequence(lambda n: f"44{n:04d}")
    carrier = factory.SubFactory(CarrierFactory)
    rate_card = factory.SubFactory(RateCardFactory)
    priority = 1


class InvoiceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Invoice

    customer = factory.SubFactory(CustomerFactory)
    number = factory.Sequence(lambda n: f"INV-{n:05d}")
    issue_date = datetime.date(2026, 1, 31)
    amount = Decimal("100.00")
    currency = "USD"


class PaymentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Payment

    invoice = factory.SubFactory(InvoiceFactory)
    paid_on = datetime.date(2026, 2, 10)
    amount = Decimal("40.00")


class CallRecordFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CallRecord

    customer = factory.SubFactory(CustomerFactory)
    start_time = factory.LazyFunction(lambda: timezone.now() - datetime.timedelta(hours=1))
    caller = "442079460000"
    callee = factory.Sequence(lambda n: f"1202555{n:04d}")
    duration = 60
    cost = Decimal("0.0125")


class TicketFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Ticket

    subject = factory.Sequence(lambda n: f"Ticket {n:03d}")
    body = "Calls to Spain fail with 503."
    customer = factory.SubFactory(CustomerFactory)
    raised_by = factory.SubFactory(UserFactory)


class TicketReplyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TicketReply

    ticket = factory.SubFactory(TicketFactory)
    author = factory.SelfAttribute("ticket.raised_by")
    body = "We are looking into it."
