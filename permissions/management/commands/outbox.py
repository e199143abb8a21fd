"""The outbox from the shell: list the mail (by state), send one again, or send every mail
that is due (the sweep a cron line or a worker runs; see docs/deployment.md).

``--as EMAIL`` answers as that user would be answered on the outbox page: the resolver
decides (read to list, update to send again) and the row scope applies. Without it the
command runs with the shell's full trust, as every other command does."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from accounts.models import User
from controlpanel.audit import log as audit
from controlpanel.outbox import sending
from controlpanel.outbox.models import OutboxMessage, OutboxState
from permissions.outbox import messages_visible_to, outbox_message_resend
from permissions.resolver import effective_permissions

UNKNOWN_USER = "--as: no user with the e-mail address {email!r}."
DENIED = "DENY: {email} may not {action} the outbox (outbox {action})."
NO_MESSAGE = "No outbox mail {pk}{scope}."
COMMAND_LABEL = "outbox command"
COLUMNS = (("ID", 7), ("STATE", 8), ("TRIES", 5), ("QUEUED", 16), ("TO", 32), ("SUBJECT", 40))


class Command(BaseCommand):
    help = "List the e-mail outbox, send a failed mail again, or send every mail that is due."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="verb", required=True)
        listing = sub.add_parser("list", help="List mail, newest first.")
        listing.add_argument("--state", choices=OutboxState.values)
        listing.add_argument("--limit", type=int, default=50)
        listing.add_argument("--as", dest="as_email", metavar="EMAIL")
        retry = sub.add_parser("retry", help="Send a failed (or waiting) mail again now.")
        retry.add_argument("id", type=int)
        retry.add_argument("--as", dest="as_email", metavar="EMAIL")
        send = sub.add_parser("send", help="Send every mail that is due now (the sweep).")
        send.add_argument("--limit", type=int, default=None)

    def handle(self, *args, verb, **options):
        return getattr(self, f"_{verb}")(**options)

    def _acting_user(self, email: str | None, action: str) -> User | None:
        if not email:
            return None
        user = User.objects.find_by_email(email)
        if user is None:
            raise CommandError(UNKNOWN_USER.format(email=email), returncode=2)
        if not effective_permissions(user).can("outbox", action):
            raise CommandError(DENIED.format(email=user.email, action=action), returncode=3)
        return user

    def _rows(self, user: User | None, state: str = ""):
        if user is None:
            rows = OutboxMessage.objects.all()
            return rows.filter(state=state) if state else rows
        return messages_visible_to(user, state=state)

    def _list(self, *, state=None, limit=50, as_email=None, **_):
        if limit < 1:
            raise CommandError("--limit: give a whole number of 1 or more.", returncode=2)
        user = self._acting_user(as_email, "read")
        self.stdout.write(" ".join(name.ljust(width) for name, width in COLUMNS) + " LAST ERROR")
        for row in self._rows(user, state or "")[:limit]:
            values = (
                str(row.pk),
                row.state,
                str(row.attempts),
                timezone.localtime(row.created_at).strftime("%Y-%m-%d %H:%M"),
                row.to,
                row.subject,
            )
            cells = " ".join(
                (value if len(value) <= width else value[: width - 1] + "…").ljust(width)
                for value, (_name, width) in zip(values, COLUMNS, strict=True)
            )
            self.stdout.write(
                f"{cells} {row.last_error.splitlines()[0] if row.last_error else '-'}"
            )

    def _retry(self, *, id, as_email=None, **_):
        user = self._acting_user(as_email, "update")
        row = self._rows(user).filter(pk=id).first()
        if row is None:
            scope = " that you may see" if user is not None else ""
            raise CommandError(NO_MESSAGE.format(pk=id, scope=scope), returncode=2)
        try:
            outbox_message_resend(
                message=row,
                actor=user,
                address=None,
                actor_label="" if user is not None else COMMAND_LABEL,
            )
        except ValidationError as error:
            raise CommandError(" ".join(error.messages), returncode=1) from None
        self.stdout.write(f"Mail {row.pk} to {row.to} queued to be sent again.")

    def _send(self, *, limit=None, **_):
        if limit is not None and limit < 1:
            raise CommandError("--limit: give a whole number of 1 or more.", returncode=2)
        result = sending.send_due(limit=limit)
        self.stdout.write(f"sent {result.sent}, failed {result.failed}, skipped {result.skipped}")
        if result.sent or result.failed:
            audit.record(
                audit.Action.COMMAND,
                actor_label=COMMAND_LABEL,
                message=f"Outbox sweep: {result.sent} sent, {result.failed} failed.",
            )
