"""Sending the outbox. A sender first *claims* a row with one conditional UPDATE (state
queued → sending, with a lease), so two workers never send the same mail: only one UPDATE
matches. Candidates are picked with ``select_for_update(skip_locked=True)`` where the
database has it (PostgreSQL), so workers draining one queue do not wait on each other.

A failed send is never lost: the row goes back to queued with the error, the attempt count
and the time of its next attempt (exponential backoff); after ``OUTBOX_MAX_ATTEMPTS`` it is
*failed* and stays visible until an administrator sends it again.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from .models import OutboxMessage, OutboxState

logger = logging.getLogger(__name__)

# A sender that has not finished within this long is presumed dead; its row is due again.
CLAIM_LEASE = timedelta(minutes=10)
FIRST_RETRY = timedelta(minutes=1)
LONGEST_WAIT = timedelta(hours=6)


def backoff(attempts: int) -> timedelta:
    """1, 2, 4, 8 … minutes after the n-th failed attempt, at most six hours."""
    return min(FIRST_RETRY * (2 ** max(0, attempts - 1)), LONGEST_WAIT)


def claim(message_id: int) -> OutboxMessage | None:
    """The row, now ours to send, or None if it is not due or another sender has it."""
    now = timezone.now()
    won = (
        OutboxMessage.objects.due(now)
        .filter(pk=message_id)
        .update(state=OutboxState.SENDING, claimed_until=now + CLAIM_LEASE)
    )
    if not won:
        return None
    return OutboxMessage.objects.get(pk=message_id)


def _candidates(limit: int, tried: set[int]) -> list[int]:
    due = OutboxMessage.objects.due().exclude(pk__in=tried).order_by("next_attempt_at", "id")
    if connection.features.has_select_for_update_skip_locked:
        with transaction.atomic():
            return list(
                due.select_for_update(skip_locked=True).values_list("pk", flat=True)[:limit]
            )
    return list(due.values_list("pk", flat=True)[:limit])


def _send(message: OutboxMessage) -> None:
    EmailMessage(message.subject, message.body, settings.DEFAULT_FROM_EMAIL, [message.to]).send()


def _record_success(message: OutboxMessage) -> None:
    fields = {
        "state": OutboxState.SENT,
        "sent_at": timezone.now(),
        "attempts": F("attempts") + 1,
        "claimed_until": None,
        "last_error": "",
    }
    if message.sensitive:
        fields["body"] = ""  # the link has gone; no copy of it stays behind
    OutboxMessage.objects.filter(pk=message.pk).update(**fields)


def _record_failure(message: OutboxMessage, error: Exception) -> None:
    attempts = message.attempts + 1
    gave_up = attempts >= settings.OUTBOX_MAX_ATTEMPTS
    next_attempt_at = timezone.now() + backoff(attempts)
    OutboxMessage.objects.filter(pk=message.pk).update(
        state=OutboxState.FAILED if gave_up else OutboxState.QUEUED,
        attempts=attempts,
        next_attempt_at=next_attempt_at,
        claimed_until=None,
        last_error=f"{type(error).__name__}: {error}"[:2000],
    )
    logger.warning(
        "Outbox message %s (%s) failed, attempt %s: %s", message.pk, message.kind, attempts, error
    )
    if not gave_up:
        _schedule_retry(message.pk, next_attempt_at)


def _schedule_retry(message_id: int, when) -> None:
    """With a backend that can defer (the database one), the retry is a task of its own;
    otherwise the next ``outbox send`` sweep picks it up."""
    from .tasks import deliver_message

    backend = deliver_message.get_backend()
    if getattr(backend, "supports_defer", False):
        try:
            deliver_message.using(run_after=when).enqueue(message_id)
        except Exception:
            logger.exception("Could not schedule the retry of outbox message %s", message_id)


def deliver(message_id: int) -> str:
    """Claim and send one message; returns what happened (``sent``, ``failed``,
    ``skipped`` when it was not due or another sender had it)."""
    message = claim(message_id)
    if message is None:
        return "skipped"
    try:
        _send(message)
    except Exception as error:  # any failure of the mail backend: keep the mail
        _record_failure(message, error)
        return "failed"
    _record_success(message)
    return "sent"


@dataclass
class SweepResult:
    sent: int = 0
    failed: int = 0
    skipped: int = 0


def send_due(*, limit: int | None = None, batch: int = 100) -> SweepResult:
    """Send every message that is due (each claimed first); at most ``limit`` claims."""
    result = SweepResult()
    tried: set[int] = set()
    while limit is None or len(tried) < limit:
        size = batch if limit is None else min(batch, limit - len(tried))
        ids = _candidates(size, tried)
        if not ids:
            break
        for pk in ids:
            tried.add(pk)
            outcome = deliver(pk)
            setattr(result, outcome, getattr(result, outcome) + 1)
    return result
