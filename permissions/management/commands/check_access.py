import sys

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from accounts.ipwhitelist import address_decision, parse_client_address
from controlpanel.kit.areas import ACTIONS, is_area
from permissions.resolver import effective_permissions
from permissions.transfer import unknown_action_message, unknown_area_message

EXIT_DENY = 3
EXIT_BAD_ARGUMENTS = 2


class Command(BaseCommand):
    help = (
        "Say whether a user may take an action on an area, and why. Prints ALLOW or DENY, "
        "then one reason a line. Exit status: 0 ALLOW, 3 DENY, 2 bad arguments."
    )

    def add_arguments(self, parser):
        parser.add_argument("email", help="the user's e-mail address (any case)")
        parser.add_argument("area", help="an area key; see manage.py list_areas")
        parser.add_argument("action", help=", ".join(ACTIONS))
        parser.add_argument(
            "--ip",
            metavar="ADDRESS",
            help="also check the user's IP whitelist for this client address",
        )

    def handle(self, *args, email, area, action, ip=None, **options):
        problems = []
        if not is_area(area):
            problems.append(unknown_area_message(area))
        if action not in ACTIONS:
            problems.append(unknown_action_message(action))
        if ip is not None and parse_client_address(ip) is None:
            problems.append(f"'{ip}' is not an IP address (for example 192.0.2.1 or 2001:db8::1)")
        user = get_user_model().objects.find_by_email(email)
        if user is None:
            problems.insert(0, f"no user with the e-mail address '{email}'")
        if problems:
            raise CommandError("; ".join(problems), returncode=EXIT_BAD_ARGUMENTS)

        decision = effective_permissions(user).explain(area, action)
        allowed, reasons = decision.allowed, list(decision.reasons)
        if ip is not None:
            # the same decision as the login and every request (accounts.ipwhitelist)
            address = address_decision(ip, user.ip_whitelist)
            allowed = allowed and address.allowed
            reasons.append(f"whitelist: {address.reason}")
        self.stdout.write("ALLOW" if allowed else "DENY")
        for reason in reasons:
            self.stdout.write(reason)
        if not allowed:
            self.stdout.flush()
            sys.exit(EXIT_DENY)
