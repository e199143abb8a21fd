"""The recurring access review from the shell: every user, streamed."""

from __future__ import annotations

import json
import sys

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from accounts.models import User
from controlpanel.kit import csv_safe
from controlpanel.kit.areas import all_areas
from controlpanel.kit.progress import ProgressBar, wanted
from permissions import review

FORMATS = ("table", "csv", "json")
BAD_STALE_DAYS = (
    "--stale-days: {value!r} is not a number of days; give a whole number from 1 to {most}."
)
YES_WITHOUT_DEACTIVATE = "--yes confirms --deactivate-stale; give both or neither."
UNKNOWN_REVIEWER = "--reviewer: no user with the e-mail address {email!r}."
COMMAND_LABEL = "access_review command"
CSV_COLUMNS = (
    "email",
    "name",
    "role",
    "active",
    "reseller",
    "groups",
    "last_login",
    "created_at",
    "flags",
)


def stale_days_argument(value: str) -> int:
    text = str(value).strip()
    if not text.isdigit() or not 1 <= int(text) <= review.MAX_STALE_DAYS:
        raise CommandError(
            BAD_STALE_DAYS.format(value=value, most=review.MAX_STALE_DAYS), returncode=2
        )
    return int(text)


def _when(value) -> str:
    return timezone.localtime(value).isoformat() if value else ""


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


class TableWriter:
    COLUMNS = (("EMAIL", 34), ("ROLE", 13), ("LAST LOGIN", 16), ("GROUPS", 28), ("FLAGS", 40))

    def __init__(self, out):
        self.out = out

    def start(self):
        head = " ".join(name.ljust(width) for name, width in self.COLUMNS)
        self.out.write(f"{head} ACCESS")

    def row(self, item: review.UserReview):
        user = item.user
        last = (
            timezone.localtime(user.last_login).strftime("%Y-%m-%d %H:%M")
            if user.last_login
            else "never"
        )
        values = (
            user.email,
            user.get_role_display(),
            last,
            ", ".join(item.groups) or "-",
            ", ".join(item.flags) or "-",
        )
        cells = " ".join(
            _cut(value, width).ljust(width)
            for value, (_name, width) in zip(values, self.COLUMNS, strict=True)
        )
        self.out.write(f"{cells} {item.access_summary}")

    def end(self):
        pass


class CsvWriter:
    def __init__(self, out):
        self.areas = [area.key for area in all_areas()]
        self.writer = csv_safe.writer(out, lineterminator="\n")

    def start(self):
        self.writer.writerow([*CSV_COLUMNS, *self.areas])

    def row(self, item: review.UserReview):
        user = item.user
        letters = item.area_letters
        self.writer.writerow(
            [
                user.email,
                user.name,
                user.role,
                "yes" if user.is_active else "no",
                user.reseller.name if user.reseller_id else "",
                "; ".join(item.groups),
                _when(user.last_login),
                _when(user.created_at),
                "; ".join(item.flags),
                *(letters[key] for key in self.areas),
            ]
        )

    def end(self):
        pass


class JsonWriter:
    """One JSON array, written an element at a time so nothing waits for the whole list."""

    def __init__(self, out):
        self.out = out
        self.first = True

    def start(self):
        self.out.write("[", ending="")

    def row(self, item: review.UserReview):
        user = item.user
        element = {
            "email": user.email,
            "name": user.name,
            "role": user.role,
            "active": user.is_active,
            "reseller": user.reseller.name if user.reseller_id else None,
            "groups": item.groups,
            "last_login": _when(user.last_login) or None,
            "created_at": _when(user.created_at),
            "flags": item.flags,
            "access": item.area_letters,
        }
        self.out.write(("\n" if self.first else ",\n") + json.dumps(element), ending="")
        self.first = False

    def end(self):
        self.out.write("\n]")


class Command(BaseCommand):
    stealth_options = ("stdin",)
    help = (
        "List every user with role, groups, effective permissions, last sign-in and flags "
        "(never logged in, stale, administrator, unverified, no whitelist), record the review, "
        "and optionally deactivate the stale users."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--stale-days",
            default=str(review.DEFAULT_STALE_DAYS),
            metavar="DAYS",
            help="an active user with no sign-in for DAYS days is stale (default 90)",
        )
        parser.add_argument("--format", choices=FORMATS, default="table", help="output format")
        parser.add_argument(
            "--deactivate-stale",
            action="store_true",
            help="after listing, deactivate the stale users (asks first)",
        )
        parser.add_argument(
            "--yes", action="store_true", help="do not ask before --deactivate-stale"
        )
        parser.add_argument(
            "--progress",
            action="store_true",
            help="show a progress bar on stderr even when it is not a terminal",
        )
        parser.add_argument("--reviewer", metavar="EMAIL", help="record this user as the reviewer")
        parser.add_argument(
            "--chunk-size",
            type=int,
            default=review.DEFAULT_CHUNK_SIZE,
            help="users loaded per batch (default 1000)",
        )

    def handle(self, *args, **options):
        stale_days = stale_days_argument(options["stale_days"])
        if options["yes"] and not options["deactivate_stale"]:
            raise CommandError(YES_WITHOUT_DEACTIVATE, returncode=2)
        if options["chunk_size"] < 1:
            raise CommandError("--chunk-size: give a positive whole number.", returncode=2)
        reviewer = self._reviewer(options["reviewer"])
        as_of = timezone.now()
        cutoff = review.stale_cutoff(stale_days, as_of)
        users = review.users_to_review(None)
        counts = review.review_counts(users, cutoff=cutoff)

        writer = {"table": TableWriter, "csv": CsvWriter, "json": JsonWriter}[options["format"]](
            self.stdout
        )
        progress = None
        if wanted(self.stderr, options["progress"]):
            progress = ProgressBar(self.stderr, counts["users_count"], "Reviewing users")
        writer.start()
        for item in review.review_rows(
            users, stale_days=stale_days, now=as_of, chunk_size=options["chunk_size"]
        ):
            writer.row(item)
            if progress:
                progress.advance()
        writer.end()
        if progress:
            progress.finish()

        deactivated = 0
        if options["deactivate_stale"]:
            deactivated = self._deactivate(stale_days, as_of, cutoff, confirmed=options["yes"])
        record = review.access_review_record(
            stale_days=stale_days,
            counts=counts,
            reviewer=reviewer,
            reviewer_label=reviewer.email if reviewer else COMMAND_LABEL,
            source="command",
            deactivated_count=deactivated,
        )
        self.stderr.write(
            f"Reviewed {record.users_count} users: {record.stale_count} stale, "
            f"{record.never_logged_in_count} never logged in, "
            f"{record.administrators_count} administrators, "
            f"{record.no_whitelist_count} without a whitelist. Review recorded.",
            style_func=str,
        )

    def _reviewer(self, email: str | None) -> User | None:
        if not email:
            return None
        user = User.objects.find_by_email(email)
        if user is None:
            raise CommandError(UNKNOWN_REVIEWER.format(email=email), returncode=2)
        return user

    def _deactivate(self, stale_days, as_of, cutoff, *, confirmed: bool) -> int:
        plan = review.plan_stale_deactivation(None, cutoff=cutoff)
        for user, reason in plan.kept:
            self.stderr.write(f"Not deactivating {user.email}: {reason}.", style_func=str)
        if not plan.deactivate:
            self.stderr.write("No stale users to deactivate.", style_func=str)
            return 0
        if not confirmed and not self._confirm(len(plan.deactivate), stale_days):
            self.stderr.write("Nothing was deactivated.", style_func=str)
            return 0
        result = review.access_review_deactivate_stale(stale_days=stale_days, as_of=as_of)
        for user in result.deactivated:
            self.stderr.write(f"Deactivated {user.email}.", style_func=str)
        reported = {(user.pk, reason) for user, reason in plan.kept}
        for user, reason in result.kept:
            if (user.pk, reason) not in reported:
                self.stderr.write(f"Not deactivating {user.email}: {reason}.", style_func=str)
        self.stderr.write(f"Deactivated {len(result.deactivated)} users.", style_func=str)
        return len(result.deactivated)

    def _confirm(self, count: int, stale_days: int) -> bool:
        self.stderr.write(
            f"Deactivate {count} users with no sign-in for {stale_days} days? "
            "Their sessions end. Type 'yes' to continue: ",
            style_func=str,
            ending="",
        )
        self.stderr.flush()
        answer = self.stdin.readline()
        return answer.strip().lower() in {"y", "yes"}

    def execute(self, *args, **options):
        self.stdin = options.get("stdin", sys.stdin)
        return super().execute(*args, **options)
