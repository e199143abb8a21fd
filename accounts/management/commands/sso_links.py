from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from accounts.models import SSOIdentity
from accounts.sso import sso_unlink


class Command(BaseCommand):
    help = (
        "List the single sign-on identities linked to panel users (one a line: e-mail, "
        "issuer, subject, e-mail at the provider, last used), all or one user's; with "
        "--unlink, remove that user's links (audited) so their next single sign-on links "
        "again by verified e-mail. Exit status 0; 1 when --unlink found nothing to remove; "
        "2 for an unknown user or --unlink without an e-mail."
    )

    def add_arguments(self, parser):
        parser.add_argument("email", nargs="?", help="one user's e-mail address (any case)")
        parser.add_argument("--unlink", action="store_true", help="remove this user's links")

    def handle(self, *args, email=None, unlink=False, **options):
        user = None
        if email:
            user = get_user_model().objects.find_by_email(email)
            if user is None:
                raise CommandError(f"no user with the e-mail address '{email}'", returncode=2)
        if unlink:
            if user is None:
                raise CommandError("--unlink needs the user's e-mail address", returncode=2)
            removed = sso_unlink(user=user, actor_label="sso_links --unlink")
            if not removed:
                raise CommandError(
                    f"{user.email} has no single sign-on identity; nothing was changed.",
                    returncode=1,
                )
            self.stdout.write(f"Unlinked {removed} single sign-on identity(ies) of {user.email}.")
            return
        links = SSOIdentity.objects.select_related("user").order_by("user__email", "issuer")
        if user is not None:
            links = links.filter(user=user)
        for link in links.iterator():
            used = link.last_used_at.isoformat(timespec="seconds") if link.last_used_at else "-"
            self.stdout.write(
                "\t".join((link.user.email, link.issuer, link.subject, link.email or "-", used))
            )
