"""The outbox area's rows and its one write, for the page, the API and the command: which
mails a user may see (the row-scope selector), and sending one again (audited)."""

from __future__ import annotations

from django.db import transaction

from controlpanel.audit import log as audit
from controlpanel.outbox.models import OutboxMessage
from controlpanel.outbox.services import outbox_message_retry
from resellers.selectors import scoped


def messages_visible_to(user, *, state: str = ""):
    """The outbox rows ``user`` may see (the caller has checked read on ``outbox``)."""
    rows = scoped(OutboxMessage.objects.all(), user)
    return rows.filter(state=state) if state else rows


@transaction.atomic
def outbox_message_resend(
    *, message: OutboxMessage, actor, address: str | None, actor_label: str = ""
):
    """Send one mail again, and say so in the audit log."""
    row = outbox_message_retry(message=message)
    audit.record(
        audit.Action.OUTBOX_RETRY,
        actor=actor,
        actor_label=actor_label,
        address=address,
        object_type="outbox message",
        object_id=str(row.pk),
        reseller=row.reseller_id,
        message=f"Mail “{row.subject}” to {row.to} queued to be sent again.",
    )
    return row
