"""Writes to the business areas. Views and commands call these, never the ORM.

Every write is one transaction: the row is validated (``full_clean``), saved, checked to
be inside the actor's scope, and recorded in the audit trail with the fields it changed.
A row that falls outside the actor's scope is refused and nothing is written.
"""

from __future__ import annotations

import datetime
from collections import Counter
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import ProtectedError

from controlpanel.audit import log as audit
from resellers.selectors import forced_reseller_field, reseller_id_of, scoped

from .alerts import customer_money_check
from .models import Customer, Invoice, Payment, Ticket, TicketReply

OUT_OF_SCOPE = "You can only save records that belong to your own reseller."
VOID_INVOICE = "Payments cannot be added to a void invoice."
OVERPAYMENT = "The payment is more than the {outstanding} {currency} still owed on this invoice."


# --- audit helpers -----------------------------------------------------------------------
def audit_value(instance: models.Model, field: models.Field):
    """A field's value as the audit trail stores it (JSON; related rows by name)."""
    if field.is_relation:
        related_id = getattr(instance, field.attname)
        return None if related_id is None else str(getattr(instance, field.name))
    value = getattr(instance, field.attname)
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime.date | datetime.datetime):
        return value.isoformat()
    return value


def snapshot(instance: models.Model, names) -> dict:
    return {name: audit_value(instance, instance._meta.get_field(name)) for name in names}


def changes_between(before: dict, after: dict) -> dict:
    return {
        name: [before.get(name), after.get(name)]
        for name in after
        if before.get(name) != after.get(name)
    }


def _audited_fields(instance: models.Model) -> list[str]:
    return [
        f.name
        for f in instance._meta.concrete_fields
        if not f.primary_key and not isinstance(f, models.DateTimeField | models.AutoField)
    ]


# --- scope helpers -----------------------------------------------------------------------
def _lock_in_scope(model: type[models.Model], pk, actor) -> models.Model:
    """The row, locked for this transaction, if ``actor`` may see it; else DoesNotExist."""
    row = model._default_manager.select_for_update().get(pk=pk)
    if not scoped(model, actor).filter(pk=pk).exists():
        raise model.DoesNotExist(f"No {model._meta.verbose_name} {pk} in your scope.")
    return row


def _require_in_scope(instance: models.Model, actor) -> None:
    if not scoped(type(instance), actor).filter(pk=instance.pk).exists():
        raise ValidationError(OUT_OF_SCOPE)


def protected_message(instance: models.Model, protected_objects) -> str:
    """ "Cannot delete customer “Acme”: it still has 3 invoices and 1 ticket. …"."""
    counts = Counter(type(obj)._meta for obj in protected_objects)
    return blocked_message(
        instance,
        {
            (meta.verbose_name if n == 1 else meta.verbose_name_plural): n
            for meta, n in counts.items()
        },
    )


def protected_counts(instance: models.Model) -> dict[str, int]:
    """How many rows still point at ``instance`` through a PROTECT foreign key, counted
    (one query per relation) rather than loaded, so a customer with a million call
    records is refused as cheaply as one with three."""
    counts = {}
    for relation in instance._meta.related_objects:
        if relation.on_delete is not models.PROTECT or not relation.one_to_many:
            continue
        n = relation.related_model._default_manager.filter(
            **{relation.field.name: instance}
        ).count()
        if n:
            meta = relation.related_model._meta
            counts[str(meta.verbose_name if n == 1 else meta.verbose_name_plural)] = n
    return counts


def blocked_message(instance: models.Model, counts: dict[str, int]) -> str:
    parts = [f"{n} {label}" for label, n in counts.items() if n]
    listed = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
    return (
        f"Cannot delete {instance._meta.verbose_name} “{instance}”: it still has {listed}. "
        "Delete or move those first."
    )


def _after_write(row: models.Model) -> None:
    """What follows a write, by model: a customer's money figures may cross an alert."""
    if isinstance(row, Customer):
        customer_money_check(row)


# --- generic record services -------------------------------------------------------------
@transaction.atomic
def area_record_create(*, definition, actor, address: str | None, values: dict):
    """Create a row of ``definition``'s area from the form's cleaned values."""
    model = definition.model
    unknown = set(values) - set(definition.editable_fields)
    if unknown:
        raise TypeError(f"Not editable in {definition.key}: {', '.join(sorted(unknown))}")
    instance = model(**values)
    forced = forced_reseller_field(model, actor)
    if forced:
        setattr(instance, f"{forced}_id", actor.reseller_id)
    for name, value in (
        definition.create_values(actor) if definition.create_values else {}
    ).items():
        setattr(instance, name, value)
    instance.full_clean()
    instance.save()
    _require_in_scope(instance, actor)
    _after_write(instance)
    fields = _audited_fields(instance)
    audit.record(
        audit.Action.CREATE,
        actor=actor,
        address=address,
        obj=instance,
        reseller=reseller_id_of(instance),
        message=f"Created {definition.verbose_name} “{instance}”.",
        changes=changes_between({}, snapshot(instance, fields)),
    )
    return instance


@transaction.atomic
def area_record_update(*, definition, actor, address: str | None, instance, values: dict):
    """Change a row the actor may see; record the fields that changed."""
    model = definition.model
    unknown = set(values) - set(definition.editable_fields)
    if unknown:
        raise TypeError(f"Not editable in {definition.key}: {', '.join(sorted(unknown))}")
    row = _lock_in_scope(model, instance.pk, actor)
    fields = _audited_fields(row)
    before = snapshot(row, fields)
    forced = forced_reseller_field(model, actor)
    for name, value in values.items():
        if name != forced:
            setattr(row, name, value)
    row.full_clean()
    row.save()
    _require_in_scope(row, actor)
    _after_write(row)
    changes = changes_between(before, snapshot(row, fields))
    if changes:
        audit.record(
            audit.Action.UPDATE,
            actor=actor,
            address=address,
            obj=row,
            reseller=reseller_id_of(row),
            message=f"Changed {definition.verbose_name} “{row}”.",
            changes=changes,
        )
    return row


@transaction.atomic
def area_record_delete(*, definition, actor, address: str | None, instance) -> None:
    """Delete a row the actor may see. Rows other records still need are refused with a
    message that says what is in the way (nothing is orphaned)."""
    row = _lock_in_scope(definition.model, instance.pk, actor)
    fields = _audited_fields(row)
    before = snapshot(row, fields)
    label, pk, reseller_id = str(row), row.pk, reseller_id_of(row)
    blockers = protected_counts(row)
    if blockers:
        raise ValidationError(blocked_message(row, blockers))
    try:
        row.delete()
    except ProtectedError as exc:  # protected further down a cascade
        raise ValidationError(protected_message(row, exc.protected_objects)) from None
    audit.record(
        audit.Action.DELETE,
        actor=actor,
        address=address,
        object_type=definition.model._meta.model_name,
        object_id=str(pk),
        reseller=reseller_id,
        message=f"Deleted {definition.verbose_name} “{label}”.",
        changes={name: [value, None] for name, value in before.items()},
    )


# --- rows added from a parent's page ------------------------------------------------------
@transaction.atomic
def payment_create(*, invoice: Invoice, actor, address: str | None, values: dict) -> Payment:
    """Record a payment against an invoice; a fully paid issued invoice becomes paid."""
    invoice = _lock_in_scope(Invoice, invoice.pk, actor)
    if invoice.status == Invoice.Status.VOID:
        raise ValidationError(VOID_INVOICE)
    payment = Payment(
        invoice=invoice,
        paid_on=values["paid_on"],
        amount=values["amount"],
        reference=values.get("reference", ""),
    )
    payment.full_clean()
    outstanding = invoice.outstanding
    if payment.amount > outstanding:
        raise ValidationError(
            {"amount": OVERPAYMENT.format(outstanding=outstanding, currency=invoice.currency)}
        )
    payment.save()
    _credit_customer(invoice.customer_id, payment.amount, actor=actor, address=address)
    audit.record(
        audit.Action.CREATE,
        actor=actor,
        address=address,
        obj=payment,
        reseller=reseller_id_of(payment),
        message=f"Recorded a payment of {payment.amount} {invoice.currency} "
        f"on invoice “{invoice}”.",
        changes=changes_between({}, snapshot(payment, _audited_fields(payment))),
    )
    if payment.amount == outstanding and invoice.status in (
        Invoice.Status.DRAFT,
        Invoice.Status.ISSUED,
    ):
        old_status = invoice.status
        invoice.status = Invoice.Status.PAID
        invoice.save(update_fields=["status"])
        audit.record(
            audit.Action.UPDATE,
            actor=actor,
            address=address,
            obj=invoice,
            reseller=reseller_id_of(invoice),
            message=f"Invoice “{invoice}” is fully paid.",
            changes={"status": [old_status, invoice.status]},
        )
    return payment


def _credit_customer(customer_id: int, amount: Decimal, *, actor, address: str | None) -> None:
    """A payment raises the customer's balance by its amount (invoices do not move the
    balance: it is the running account the billing system keeps)."""
    customer = Customer.objects.select_for_update().get(pk=customer_id)
    before = customer.balance
    customer.balance = before + amount
    customer.save(update_fields=["balance"])
    audit.record(
        audit.Action.UPDATE,
        actor=actor,
        address=address,
        obj=customer,
        reseller=customer.reseller_id,
        message=f"Balance of “{customer}” credited with a payment of {amount}.",
        changes={"balance": [str(before), str(customer.balance)]},
    )
    customer_money_check(customer)


@transaction.atomic
def ticket_reply_create(*, ticket: Ticket, actor, address: str | None, values: dict) -> TicketReply:
    """Add a reply to a ticket the actor may see."""
    ticket = _lock_in_scope(Ticket, ticket.pk, actor)
    reply = TicketReply(ticket=ticket, author=actor, body=values["body"])
    reply.full_clean()
    reply.save()
    ticket.save(update_fields=["updated_at"])
    audit.record(
        audit.Action.CREATE,
        actor=actor,
        address=address,
        obj=reply,
        reseller=reseller_id_of(reply),
        message=f"Replied to ticket “{ticket}”.",
        changes={"body": [None, reply.body]},
    )
    return reply
