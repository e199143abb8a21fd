"""Retention: the one sanctioned way to remove audit entries."""

import datetime

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from controlpanel.audit import log as audit
from controlpanel.audit.models import AuditEntry

BAD_DAYS = (
    "--older-than: {value!r} is not a number of days; give a positive whole number, e.g. 365."
)


def positive_days(value: str) -> int:
    text = str(value).strip()
    if not text.isdigit() or int(text) < 1:
        raise CommandError(BAD_DAYS.format(value=value), returncode=2)
    return int(text)


class Command(BaseCommand):
    help = (
        "Delete audit entries older than DAYS days, in batches, and leave one audit entry "
        "saying what was pruned. Nothing else can delete audit entries."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--older-than",
            required=True,
            metavar="DAYS",
            help="delete entries written more than DAYS days ago (a positive whole number)",
        )
        parser.add_argument(
            "--batch-size",
            type=int,
            default=5000,
            help="rows deleted per statement (default 5000)",
        )

    def handle(self, *args, older_than, batch_size, **options):
        days = positive_days(older_than)
        if batch_size < 1:
            raise CommandError("--batch-size: give a positive whole number.", returncode=2)
        before = timezone.now() - datetime.timedelta(days=days)
        deleted = AuditEntry.objects.prune(before=before, batch_size=batch_size)
        audit.record(
            audit.Action.PRUNE,
            actor_label="prune_audit",
            object_type="auditentry",
            message=(
                f"Pruned {deleted} audit entries older than {days} days "
                f"(written before {before:%Y-%m-%d %H:%M:%S} UTC)."
            ),
            changes={"deleted": {"after": deleted}, "older_than_days": {"after": days}},
        )
        self.stdout.write(f"Deleted {deleted} audit entries older than {days} days.")
