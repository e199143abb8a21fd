from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from accounts.ipwhitelist import parse_whitelist, stored_whitelist, typed_entries
from controlpanel.audit import log as audit

NO_ENTRIES = "no entries given. To remove the whitelist (any address may sign in), use --clear."
ENTRIES_AND_CLEAR = "give entries or --clear, not both."


class Command(BaseCommand):
    help = (
        "Set or clear a user's IP whitelist from the shell (recovery). Entries are checked "
        "like the user form; the user's sessions end."
    )

    def add_arguments(self, parser):
        parser.add_argument("email", help="the user's e-mail address (any case)")
        parser.add_argument(
            "entries",
            nargs="*",
            metavar="ENTRY",
            help="1.1.1.1, 1.1.1., 1.1.1.*, 1.1.1.0/24, 2001:db8::1 or 2001:db8::/48",
        )
        parser.add_argument(
            "--clear", action="store_true", help="empty the whitelist: any address may sign in"
        )

    def handle(self, *args, email, entries, clear=False, **options):
        if clear and entries:
            raise CommandError(ENTRIES_AND_CLEAR, returncode=2)
        if not clear and not entries:
            raise CommandError(NO_ENTRIES, returncode=2)
        user = get_user_model().objects.find_by_email(email)
        if user is None:
            raise CommandError(f"no user with the e-mail address '{email}'", returncode=2)
        try:
            parsed = parse_whitelist(entries)
        except ValidationError as error:
            for message in error.messages:
                self.stderr.write(message)
            raise CommandError("the whitelist was not changed.", returncode=1) from None

        with transaction.atomic():
            before = typed_entries(user.ip_whitelist)
            user.ip_whitelist = stored_whitelist(parsed)
            user.end_sessions()
            user.save(update_fields=["ip_whitelist", "session_version", "updated_at"])
            after = typed_entries(user.ip_whitelist)
            audit.record(
                audit.Action.UPDATE,
                actor_label="set_whitelist",
                obj=user,
                message=(
                    f"IP whitelist of {user.email} "
                    + (f"set to {', '.join(after)}" if after else "cleared")
                    + " from the command line."
                ),
                changes={"ip_whitelist": {"before": before, "after": after}},
            )

        if not parsed:
            self.stdout.write(
                f"Whitelist of {user.email} cleared: any address may sign in. "
                "Their sessions have ended."
            )
            return
        self.stdout.write(
            f"Whitelist of {user.email} ({len(parsed)} entries; their sessions have ended):"
        )
        for entry in parsed:
            self.stdout.write(f"{entry.entry}\t{entry.network}")
