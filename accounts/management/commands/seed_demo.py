from django.contrib.auth import password_validation
from django.core.management.base import BaseCommand
from django.db import transaction

from accounts.models import Role, User
from permissions.models import Group
from permissions.services import group_create, rule_set

DEMO_PASSWORD = "Switchboard-Demo-2026"  # noqa: S105 (printed demo login, by design)
ADMIN_EMAIL = "admin@example.com"

# (e-mail, name, group) for the demo staff; groups follow the ConnexCS docs' examples.
DEMO_STAFF = [
    ("noc@example.com", "Nadia Okafor", "Network Services Engineers"),
    ("billing@example.com", "Bruno Lindqvist", "Billing team"),
    ("viewer@example.com", "Vera Chen", "Read only"),
]


class Command(BaseCommand):
    help = "Create or refresh the demo data (idempotent) and print the demo logins."

    @transaction.atomic
    def handle(self, *args, **options):
        password_validation.validate_password(DEMO_PASSWORD)
        admin = self._user(ADMIN_EMAIL, "Ada Admin", Role.ADMINISTRATOR)
        groups = self._groups()
        for email, name, group_name in DEMO_STAFF:
            user = self._user(email, name, Role.USER)
            user.access_groups.set([groups[group_name]])
        self.stdout.write(self.style.SUCCESS("Demo data ready."))
        self.stdout.write(f"Demo administrator: {admin.email} / {DEMO_PASSWORD}")
        for email, _name, group_name in DEMO_STAFF:
            self.stdout.write(f"Demo user ({group_name}): {email} / {DEMO_PASSWORD}")

    def _user(self, email: str, name: str, role: str) -> User:
        user = User.objects.filter(email__iexact=email).first()
        if user is None:
            return User.objects.create_user(email, DEMO_PASSWORD, name=name, role=role)
        if not user.check_password(DEMO_PASSWORD) or user.name != name or user.role != role:
            user.name, user.role, user.is_active = name, role, True
            user.set_password(DEMO_PASSWORD)
            user.save()
        return user

    def _groups(self) -> dict[str, Group]:
        wanted = {
            "Network Services Engineers": (
                ("create", "read", "update", "delete"),
                [
                    ("routing", ["create", "read", "update", "delete"]),
                    ("carrier", ["create", "read", "update", "delete"]),
                    ("card", ["read"]),
                    ("cdr", ["read"]),
                ],
            ),
            "Billing team": (
                ("create", "read", "update", "delete"),
                [
                    ("billing", ["create", "read", "update", "delete"]),
                    ("customer", ["create", "read", "update", "delete"]),
                    ("contact", ["read"]),
                    ("cdr", ["read"]),
                ],
            ),
            "Read only": (("read",), []),
        }
        groups = {}
        for name, (defaults, allows) in wanted.items():
            group = Group.objects.filter(name__iexact=name).first() or group_create(
                name=name, defaults=defaults
            )
            for area, actions in allows:
                rule_set(group=group, area=area, actions=actions)
            groups[name] = group
        return groups
