"""Alerts on customers' money: a *credit alert* when a customer in debt has used all of
its credit (balance < 0 and balance <= -credit limit), a *low-balance alert* when the
balance is below the threshold the customer record carries.

``customer_money_check`` is called by every service that writes a customer's balance,
credit limit or threshold (the customer pages and API through ``area_record_create`` /
``_update``, payments through ``payment_create``), in that write's transaction, on the
locked row. Each alert fires once per crossing: the customer's ``*_alert_active`` flag is
set when it fires and cleared when the balance recovers, so it fires again only after a
recovery and a new crossing. The mail is composed by a task after the write commits, and
its recipients are decided then, at send time: active users who opted in on their
profile, whose address is verified, who may read billing or customers (the resolver) and
who may see this customer (the row scope). Every alert is in the audit log.
"""

from __future__ import annotations

import logging

from django.db import transaction
from django_tasks import task

from accounts.models import User
from controlpanel.audit import log as audit
from controlpanel.kit.links import absolute_reverse
from controlpanel.outbox import services as outbox
from permissions.resolver import effective_permissions
from resellers.selectors import scoped

from .models import Customer

logger = logging.getLogger(__name__)

CREDIT = "credit_alert"
LOW_BALANCE = "low_balance_alert"
FLAGS = {CREDIT: "credit_alert_active", LOW_BALANCE: "low_balance_alert_active"}
ALERTS_LABEL = "money alerts"


def credit_reached(customer: Customer) -> bool:
    return customer.balance < 0 and customer.balance <= -customer.credit_limit


def balance_low(customer: Customer) -> bool:
    threshold = customer.low_balance_threshold
    return threshold is not None and customer.balance < threshold


CONDITIONS = {CREDIT: credit_reached, LOW_BALANCE: balance_low}


def customer_money_check(customer: Customer) -> list[str]:
    """Compare the customer's (just written, locked) figures with its alert flags: set a
    flag and queue its alert on a new crossing, clear it on recovery. Returns the alerts
    queued."""
    fired, changed = [], {}
    for kind, condition in CONDITIONS.items():
        now_true = condition(customer)
        if now_true != getattr(customer, FLAGS[kind]):
            changed[FLAGS[kind]] = now_true
            setattr(customer, FLAGS[kind], now_true)
            if now_true:
                fired.append(kind)
    if changed:
        Customer.objects.filter(pk=customer.pk).update(**changed)
    for kind in fired:
        outbox.run_after_commit(_enqueue_alert, customer.pk, kind)
    return fired


def _enqueue_alert(customer_id: int, kind: str) -> None:
    send_money_alert.enqueue(customer_id, kind)


def may_receive_alert(user: User, customer: Customer) -> bool:
    """At send time: opted in, active, verified, may read billing or customers, and may
    see this customer."""
    if not (user.is_active and user.money_alerts and user.is_verified):
        return False
    access = effective_permissions(user)
    if not (access.can("billing", "read") or access.can("customer", "read")):
        return False
    return scoped(Customer.objects.filter(pk=customer.pk), user).exists()


def recipients_of(customer: Customer) -> list[User]:
    candidates = User.objects.filter(
        is_active=True, money_alerts=True, email_verified_at__isnull=False
    ).order_by("email")
    return [user for user in candidates if may_receive_alert(user, customer)]


@task()
def send_money_alert(customer_id: int, kind: str) -> int:
    """Queue the alert's mails (one per recipient) and audit it; returns how many. An
    alert whose crossing has already recovered by now is not sent."""
    with transaction.atomic():
        customer = (
            Customer.objects.select_for_update(of=("self",))
            .select_related("reseller")
            .filter(pk=customer_id)
        ).first()
        if customer is None or not getattr(customer, FLAGS[kind]):
            return 0
        recipients = recipients_of(customer)
        context = {
            "customer": customer,
            "link": absolute_reverse("customer-detail", pk=customer.pk),
        }
        for user in recipients:
            outbox.queue_template(
                kind, user.email, {**context, "user": user}, reseller_id=customer.reseller_id
            )
        label = "Credit alert" if kind == CREDIT else "Low-balance alert"
        audit.record(
            audit.Action.ALERT_SENT,
            actor_label=ALERTS_LABEL,
            obj=customer,
            reseller=customer.reseller_id,
            message=f"{label} for “{customer}” (balance {customer.balance}, credit limit "
            f"{customer.credit_limit}, threshold {customer.low_balance_threshold}): sent to "
            f"{len(recipients)} user(s)"
            + (f": {', '.join(u.email for u in recipients)}." if recipients else "."),
        )
    return len(recipients)
