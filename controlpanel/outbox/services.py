"""Queueing mail. Every e-mail the panel sends is an ``OutboxMessage`` written here, in the
caller's transaction; its delivery is enqueued only once that transaction commits, so a
change that rolls back sends nothing, and a mail server that is down fails no change."""

from __future__ import annotations

import logging
from functools import partial

from django.core.exceptions import ValidationError
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone

from .models import OutboxMessage, OutboxState

logger = logging.getLogger(__name__)

NOT_RETRYABLE = "Only a failed or waiting mail can be sent again; this one is {state}."


def render_mail(name: str, context: dict) -> tuple[str, str]:
    """``templates/emails/<name>_subject.txt`` and ``<name>.txt``, rendered."""
    context = {"panel_name": "Control Panel", **context}
    subject = " ".join(render_to_string(f"emails/{name}_subject.txt", context).split())
    body = render_to_string(f"emails/{name}.txt", context)
    return subject, body


def _enqueue_delivery(message_id: int) -> None:
    """Hand the mail to the task engine. If even that fails, the row stays queued and the
    next sweep (``manage.py outbox send``) sends it."""
    from .tasks import deliver_message

    try:
        deliver_message.enqueue(message_id)
    except Exception:
        logger.exception("Could not enqueue delivery of outbox message %s", message_id)


def run_after_commit(func, *args) -> None:
    """``func(*args)`` once the current transaction commits (at once outside one); the
    panel enqueues its tasks this way, so a rolled-back change enqueues nothing."""
    callback = partial(func, *args)
    # tests/conftest.py runs these at the point a real transaction would commit
    callback.enqueues_task = True
    transaction.on_commit(callback, robust=True)


def deliver_after_commit(message_id: int) -> None:
    run_after_commit(_enqueue_delivery, message_id)


def queue_mail(
    *,
    kind: str,
    to: str,
    subject: str,
    body: str,
    reseller_id: int | None = None,
    sensitive: bool = False,
) -> OutboxMessage:
    """Record one mail in the caller's transaction; it is sent after that commits."""
    message = OutboxMessage.objects.create(
        kind=kind,
        to=to,
        subject=subject[:255],
        body=body,
        sensitive=sensitive,
        reseller_id=reseller_id,
    )
    deliver_after_commit(message.pk)
    return message


def queue_template(
    name: str,
    to: str,
    context: dict,
    *,
    reseller_id: int | None = None,
    sensitive: bool = False,
    kind: str | None = None,
) -> OutboxMessage:
    subject, body = render_mail(name, context)
    return queue_mail(
        kind=kind or name,
        to=to,
        subject=subject,
        body=body,
        reseller_id=reseller_id,
        sensitive=sensitive,
    )


@transaction.atomic
def outbox_message_retry(*, message: OutboxMessage) -> OutboxMessage:
    """Send a failed (or waiting) mail again now: its attempts start over."""
    row = OutboxMessage.objects.select_for_update().get(pk=message.pk)
    if row.state not in (OutboxState.FAILED, OutboxState.QUEUED):
        raise ValidationError(NOT_RETRYABLE.format(state=row.get_state_display().lower()))
    row.state = OutboxState.QUEUED
    row.attempts = 0
    row.next_attempt_at = timezone.now()
    row.save(update_fields=["state", "attempts", "next_attempt_at"])
    deliver_after_commit(row.pk)
    return row
