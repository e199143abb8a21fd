from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from accounts.passkeys import passkeys_remove, user_passkeys

NO_USER = "no user with the e-mail address '{email}'"
NAME_OR_ALL = "say which passkey to remove: --name NAME (see 'passkeys list {email}') or --all"
NO_SUCH_NAME = "{email} has no passkey named '{name}'; their passkeys: {names}"
NONE_TO_REMOVE = "{email} has no passkeys; nothing was changed."


def _when(value) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M") if value else "never"


class Command(BaseCommand):
    help = (
        "Recovery for passkeys (WebAuthn). 'list EMAIL' shows a user's passkeys; 'remove "
        "EMAIL --name NAME' or 'remove EMAIL --all' removes them and ends the user's "
        "sessions (audited; the user is told by e-mail). Exit status 0 when done, 1 when "
        "there was nothing to remove, 2 for an unknown user or a wrong argument."
    )

    def add_arguments(self, parser):
        actions = parser.add_subparsers(dest="action", required=True, metavar="list|remove")
        listing = actions.add_parser("list", help="show a user's passkeys")
        listing.add_argument("email", help="the user's e-mail address (any case)")
        removing = actions.add_parser("remove", help="remove one or all of a user's passkeys")
        removing.add_argument("email", help="the user's e-mail address (any case)")
        which = removing.add_mutually_exclusive_group()
        which.add_argument("--name", help="the passkey's name, as 'list' shows it")
        which.add_argument("--all", action="store_true", help="every passkey of the user")

    def handle(self, *args, action, email, **options):
        user = get_user_model().objects.find_by_email(email)
        if user is None:
            raise CommandError(NO_USER.format(email=email), returncode=2)
        keys = list(user_passkeys(user))
        if action == "list":
            if not keys:
                self.stdout.write(f"{user.email} has no passkeys.")
            for key in keys:
                self.stdout.write(
                    f"{key.name}\tcreated {_when(key.created_at)}\tlast used "
                    f"{_when(key.last_used_at)}"
                )
            return
        name, every = options.get("name"), options.get("all")
        if not name and not every:
            raise CommandError(NAME_OR_ALL.format(email=user.email), returncode=2)
        if not keys:
            raise CommandError(NONE_TO_REMOVE.format(email=user.email), returncode=1)
        if name and name not in {key.name for key in keys}:
            names = ", ".join(f"'{key.name}'" for key in keys)
            raise CommandError(
                NO_SUCH_NAME.format(email=user.email, name=name, names=names), returncode=2
            )
        removed = passkeys_remove(user=user, actor=None, address=None, name=name or None)
        self.stdout.write(
            f"Removed {len(removed)} passkey{'s' if len(removed) != 1 else ''} of "
            f"{user.email} ({', '.join(removed)}); their sessions have ended."
        )
