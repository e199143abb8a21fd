"""Invoices and the payments against them."""

from decimal import Decimal

import pytest
from django.urls import reverse

from controlpanel.areas.models import Invoice, Payment
from controlpanel.audit.models import AuditEntry

from .factories import InvoiceFactory, PaymentFactory


@pytest.fixture
def invoice(mine):
    return mine.invoice  # 100.00 USD, issued


def _pay(client, invoice, amount, paid_on="2026-02-10", reference="SEPA-001"):
    return client.post(
        reverse("billing-payment-create", args=[invoice.pk]),
        {"paid_on": paid_on, "amount": amount, "reference": reference},
    )


def test_payments_are_shown_on_the_invoice(client_as, manager, invoice):
    PaymentFactory(invoice=invoice, amount=Decimal("40.00"), reference="WIRE-778")

    page = client_as(manager).get(reverse("billing-detail", args=[invoice.pk])).content.decode()

    assert "WIRE-778" in page
    assert "60.00" in page  # still owed


def test_a_payment_is_added_from_the_invoice_page(client_as, manager, invoice):
    client = client_as(manager)
    page = client.get(reverse("billing-detail", args=[invoice.pk])).content.decode()

    response = _pay(client, invoice, "30.00")

    assert reverse("billing-payment-create", args=[invoice.pk]) in page
    assert response.status_code == 302
    assert response["Location"] == reverse("billing-detail", args=[invoice.pk])
    payment = Payment.objects.get(invoice=invoice)
    assert payment.amount == Decimal("30.00")
    entry = AuditEntry.objects.get(action="create", object_type="payment")
    assert entry.changes["amount"] == [None, "30.00"]


def test_paying_the_rest_marks_the_invoice_paid(client_as, manager, invoice):
    client = client_as(manager)
    _pay(client, invoice, "60.00")
    _pay(client, invoice, "40.00", reference="SEPA-002")

    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.PAID
    assert AuditEntry.objects.filter(
        action="update", object_type="invoice", changes__status=["issued", "paid"]
    ).exists()


def test_a_payment_above_what_is_owed_is_refused(client_as, manager, invoice):
    PaymentFactory(invoice=invoice, amount=Decimal("90.00"))

    response = _pay(client_as(manager), invoice, "10.01")

    assert "Amount: The payment is more than the 10.00 USD still owed" in response.content.decode()
    assert Payment.objects.filter(invoice=invoice).count() == 1


def test_a_payment_on_a_void_invoice_is_refused(client_as, manager, mine):
    void = InvoiceFactory(customer=mine.customer, status=Invoice.Status.VOID)

    response = _pay(client_as(manager), void, "10.00")

    assert "Payments cannot be added to a void invoice." in response.content.decode()
    assert not Payment.objects.filter(invoice=void).exists()


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        ("0", "Amount: The amount must be at least 0.01."),
        ("-5", "Amount: The amount must be at least 0.01."),
        ("1.234", "Amount: Ensure that there are no more than 2 decimal places."),
        ("ten", "Amount: Enter a number."),
    ],
)
def test_a_bad_payment_amount_is_refused_naming_the_field(
    client_as, manager, invoice, amount, message
):
    response = _pay(client_as(manager), invoice, amount)

    assert message in response.content.decode()
    assert not Payment.objects.exists()


def test_adding_a_payment_needs_create_on_billing(client_as, member, invoice):
    reader = member(allow={"billing": ["read", "update"]})
    client = client_as(reader)
    page = client.get(reverse("billing-detail", args=[invoice.pk])).content.decode()

    response = _pay(client, invoice, "10.00")

    assert reverse("billing-payment-create", args=[invoice.pk]) not in page
    assert response.status_code == 403
    assert not Payment.objects.exists()


def test_paying_another_resellers_invoice_is_not_found(client_as, member, reseller, theirs):
    billing_clerk = member(allow={"billing": ["read", "create"]}, reseller=reseller)

    response = _pay(client_as(billing_clerk), theirs.invoice, "10.00")

    assert response.status_code == 404
    assert not Payment.objects.exists()


def test_an_invoice_with_payments_cannot_be_deleted(client_as, manager, invoice):
    PaymentFactory(invoice=invoice)

    response = client_as(manager).post(reverse("billing-delete", args=[invoice.pk]))

    assert response.status_code == 409
    assert "it still has 1 payment" in response.content.decode()
    assert Invoice.objects.filter(pk=invoice.pk).exists()


def test_paying_exactly_what_is_owed_after_several_payments_is_accepted(client_as, manager, mine):
    invoice = InvoiceFactory(customer=mine.customer, amount=Decimal("630.66"))
    for amount in ("0.10", "0.20", "100.33"):
        PaymentFactory(invoice=invoice, amount=Decimal(amount))

    response = _pay(client_as(manager), invoice, "530.03")

    assert response.status_code == 302
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.PAID
    assert invoice.outstanding == Decimal("0.00")
