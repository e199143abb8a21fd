from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from accounts.two_factor import two_factor_reset


class Command(BaseCommand):
    help = (
        "Recovery for a user who lost their authenticator app and recovery codes: remove "
        "their two-factor devices and end their sessions. They then sign in with the "
        "password alone and can set two-factor sign-in up again. Audited; the user is told "
        "by e-mail. Exit status 0 when reset, 1 when the user had no two-factor sign-in, "
        "2 for an unknown user."
    )

    def add_arguments(self, parser):
        parser.add_argument("email", help="the user's e-mail address (any case)")

    def handle(self, *args, email, **options):
        user = get_user_model().objects.find_by_email(email)
        if user is None:
            raise CommandError(f"no user with the e-mail address '{email}'", returncode=2)
        if not two_factor_reset(user=user, actor=None, address=None):
            raise CommandError(
                f"{user.email} has no two-factor sign-in; nothing was changed.", returncode=1
            )
        self.stdout.write(
            f"Two-factor sign-in of {user.email} was reset; their sessions have ended."
        )
