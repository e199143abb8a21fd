from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.core.validators import validate_email

from accounts import lockout
from accounts.ipwhitelist import parse_client_address
from accounts.lifecycle import UNLOCK
from controlpanel.audit import log as audit


class Command(BaseCommand):
    help = (
        "Clear the failed sign-ins counted against an e-mail address, so it can sign in "
        "again before the cool-off ends. With --ip, also clear those counted against a "
        "client address. Works whether or not an account has that address (lockouts "
        "count unknown addresses too)."
    )

    def add_arguments(self, parser):
        parser.add_argument("email", help="the e-mail address that is locked out (any case)")
        parser.add_argument(
            "--ip", default="", metavar="ADDRESS", help="also clear this client address"
        )

    def handle(self, *args, email, ip, **options):
        email = email.strip()
        try:
            validate_email(email)
        except ValidationError:
            raise CommandError(
                f"'{email}' is not an e-mail address; give the address used to sign in.",
                returncode=2,
            ) from None
        address = ""
        if ip:
            parsed = parse_client_address(ip)
            if parsed is None:
                raise CommandError(
                    f"'{ip}' is not an IP address (e.g. 203.0.113.7 or 2001:db8::1).",
                    returncode=2,
                )
            address = str(parsed)
        removed = lockout.unlock(email=email, address=address)
        audit.record(
            UNLOCK,
            actor_label="unlock",
            object_type="user",
            message=(
                f"Sign-in lockout cleared for {email}"
                + (f" and address {address}" if address else "")
                + f" from the command line ({removed} record(s))."
            ),
        )
        target = email + (f" and {address}" if address else "")
        self.stdout.write(
            f"Unlocked {target}: {removed} failed sign-in record(s) cleared."
            if removed
            else f"No failed sign-ins are recorded for {target}; nothing to clear."
        )
