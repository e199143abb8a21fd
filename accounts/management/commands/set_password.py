import getpass
import sys

from django.contrib.auth import get_user_model, password_validation
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from accounts.api_tokens import api_tokens_revoke_all
from accounts.lifecycle import notify_password_changed_by_admin
from controlpanel.audit import log as audit

NO_PASSWORD = "no password on standard input; nothing was changed."  # noqa: S105 (a message)
EMPTY_PASSWORD = "the password is empty; nothing was changed."  # noqa: S105 (a message)
MISMATCH = "the two passwords do not match; nothing was changed."


class Command(BaseCommand):
    help = (
        "Set a user's password. It is read from standard input (one line), or asked for "
        "twice on a terminal, and checked with the password validators. The user's "
        "sessions end and their API tokens are revoked."
    )

    def add_arguments(self, parser):
        parser.add_argument("email", help="the user's e-mail address (any case)")

    def handle(self, *args, email, **options):
        user = get_user_model().objects.find_by_email(email)
        if user is None:
            raise CommandError(f"no user with the e-mail address '{email}'", returncode=2)
        password = self._read_password(sys.stdin)
        try:
            password_validation.validate_password(password, user)
        except ValidationError as error:
            for message in error.messages:
                self.stderr.write(message)
            raise CommandError("the password was not changed.", returncode=1) from None
        with transaction.atomic():
            # The new hash ends every session of the user (the session stores an HMAC of it).
            user.set_password(password)
            user.save(update_fields=["password", "updated_at"])
            # Whoever held a session may have minted a token: they go with the sessions.
            api_tokens_revoke_all(
                user=user, reason="Password set from the command line.", address=None
            )
            audit.record(
                audit.Action.PASSWORD_CHANGE,
                actor_label="set_password",
                obj=user,
                message=f"Password of {user.email} set from the command line.",
            )
        # Every credential change is told to the user (never with the password).
        notify_password_changed_by_admin(user)
        self.stdout.write(
            f"Password of {user.email} changed; their sessions have ended and their API "
            "tokens were revoked."
        )

    def _read_password(self, stream) -> str:
        if stream.isatty():
            first = getpass.getpass("New password: ")
            if first != getpass.getpass("New password (again): "):
                raise CommandError(MISMATCH, returncode=1)
            password = first
        else:
            line = stream.readline()
            if not line:
                raise CommandError(NO_PASSWORD, returncode=1)
            # Only the line ending goes: spaces are allowed in a password.
            password = line.removesuffix("\n").removesuffix("\r")
        if not password:
            raise CommandError(EMPTY_PASSWORD, returncode=1)
        return password
