"""Credit and low-balance alerts: to exactly the opted-in, verified users who may read
the customer at send time, once per crossing, again after a recovery, whichever way the
balance changed (page, API, payment); every alert in the audit log."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core import mail
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from controlpanel.areas.definitions import CUSTOMER
from controlpanel.areas.models import Customer
from controlpanel.audit.models import AuditEntry
from controlpanel.kit.areas import mask_of
from controlpanel.outbox.models import OutboxMessage
from permissions.models import Rule
from tests.factories import AdminFactory, GroupFactory, ResellerFactory, UserFactory

from .factories import CustomerFactory, InvoiceFactory


def _person(email, *, areas=("billing",), reseller=None, opted_in=True, verified=True, **extra):
    group = GroupFactory(defaults=0)
    for area in areas:
        Rule.objects.create(group=group, area=area, actions=mask_of(["read"]))
    return UserFactory(
        email=email,
        groups=[group],
        reseller=reseller,
        money_alerts=opted_in,
        email_verified_at=timezone.now() if verified else None,
        **extra,
    )


@pytest.fixture
def world(db):
    acme, bluewave = ResellerFactory(name="Acme"), ResellerFactory(name="Bluewave")
    people = {
        "boss": AdminFactory(
            email="boss@example.com", money_alerts=True, email_verified_at=timezone.now()
        ),
        "bill": _person("bill@example.com"),  # billing read, direct
        "cora": _person("cora@example.com", areas=("customer",)),  # customer read, direct
        "rita": _person("rita@acme.example", reseller=acme),  # Acme's billing reader
        "bert": _person("bert@bluewave.example", reseller=bluewave),  # another reseller
        "rory": _person("rory@example.com", areas=("routing",)),  # no billing/customer read
        "quiet": _person("quiet@example.com", opted_in=False),
        "unverified": _person("unverified@example.com", verified=False),
        "gone": _person("gone@example.com", is_active=False),
    }
    customer = CustomerFactory(
        name="Acme Customer",
        reseller=acme,
        credit_limit=Decimal("100.00"),
        balance=Decimal("500.00"),
        low_balance_threshold=Decimal("50.00"),
    )
    return {"customer": customer, "acme": acme, **people}


def _set_balance(client, customer, balance):
    customer.refresh_from_db()
    return client.post(
        reverse("customer-update", args=[customer.pk]),
        {
            "name": customer.name,
            "reseller": customer.reseller_id or "",
            "status": customer.status,
            "credit_limit": customer.credit_limit,
            "balance": balance,
            "low_balance_threshold": customer.low_balance_threshold or "",
        },
    )


def _alert_recipients(subject_start):
    return sorted(m.to[0] for m in mail.outbox if m.subject.startswith(subject_start))


def test_a_low_balance_reaches_exactly_the_opted_in_verified_users_who_may_read_it(
    client_as, world
):
    response = _set_balance(client_as(world["boss"]), world["customer"], "20.00")
    assert response.status_code == 302
    assert _alert_recipients("Low balance") == [
        "bill@example.com",
        "boss@example.com",
        "cora@example.com",
        "rita@acme.example",
    ]
    (entry,) = AuditEntry.objects.filter(action="alert sent")
    assert entry.object_id == str(world["customer"].pk) and "sent to 4 user(s)" in entry.message
    assert entry.reseller_id == world["acme"].pk
    body = next(m.body for m in mail.outbox if m.to == ["rita@acme.example"])
    assert "Acme Customer" in body and "20.00" in body and "50.00" in body


def test_an_alert_fires_once_per_crossing_and_again_after_recovery(client_as, world):
    client = client_as(world["boss"])
    _set_balance(client, world["customer"], "20.00")
    _set_balance(client, world["customer"], "10.00")  # still low: no storm
    assert len(_alert_recipients("Low balance")) == 4
    _set_balance(client, world["customer"], "80.00")  # recovered
    assert Customer.objects.get().low_balance_alert_active is False
    _set_balance(client, world["customer"], "30.00")  # crosses again
    assert len(_alert_recipients("Low balance")) == 8
    assert AuditEntry.objects.filter(action="alert sent").count() == 2


def test_reaching_the_credit_limit_sends_a_credit_alert(client_as, world):
    _set_balance(client_as(world["boss"]), world["customer"], "-100.00")
    assert len(_alert_recipients("Credit alert")) == 4
    assert len(_alert_recipients("Low balance")) == 4  # -100 is below 50 too
    customer = Customer.objects.get()
    assert customer.credit_alert_active and customer.low_balance_alert_active


def test_recipients_are_decided_when_the_alert_is_sent(world):
    """Bill loses billing read after the balance fell but before the transaction commits
    (when the alert task runs): he gets nothing; the others still get it."""
    with transaction.atomic():
        CUSTOMER.update(
            actor=world["boss"],
            address=None,
            instance=world["customer"],
            values={"balance": Decimal("20.00")},
        )
        assert mail.outbox == []  # nothing before the commit
        Rule.objects.filter(group__in=world["bill"].access_groups.all()).delete()
    assert _alert_recipients("Low balance") == [
        "boss@example.com",
        "cora@example.com",
        "rita@acme.example",
    ]


def test_a_payment_raises_the_balance_and_ends_the_crossing(client_as, world):
    customer = world["customer"]
    client = client_as(world["boss"])
    _set_balance(client, customer, "20.00")
    invoice = InvoiceFactory(customer=customer, amount=Decimal("100.00"))
    response = client.post(
        reverse("billing-payment-create", args=[invoice.pk]),
        {"paid_on": "2026-02-10", "amount": "40.00", "reference": "WIRE-1"},
    )
    assert response.status_code == 302
    customer.refresh_from_db()
    assert customer.balance == Decimal("60.00") and not customer.low_balance_alert_active
    assert AuditEntry.objects.filter(
        action="update", object_type="customer", changes__balance=["20.00", "60.00"]
    ).exists()


def test_a_user_without_billing_or_customer_read_gets_none(client_as, world):
    _set_balance(client_as(world["boss"]), world["customer"], "-200.00")
    everyone = {m.to[0] for m in mail.outbox}
    assert "rory@example.com" not in everyone
    assert "bert@bluewave.example" not in everyone
    assert {"quiet@example.com", "unverified@example.com", "gone@example.com"}.isdisjoint(everyone)


def test_alert_mail_goes_through_the_outbox_under_the_customers_reseller(client_as, world):
    _set_balance(client_as(world["boss"]), world["customer"], "20.00")
    rows = OutboxMessage.objects.filter(kind="low_balance_alert")
    assert rows.count() == 4 and {r.reseller_id for r in rows} == {world["acme"].pk}
    assert all(r.state == "sent" for r in rows)
