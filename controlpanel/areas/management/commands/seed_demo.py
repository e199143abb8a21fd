from django.contrib.auth import password_validation
from django.core.management.base import BaseCommand
from django.db import transaction

from accounts.models import Role, User
from controlpanel.areas.demo import RESELLER_USERS, seed_business, seed_resellers
from permissions.models import Group
from permissions.services import (
    DEFAULT_RESELLER_NAME,
    group_create,
    group_create_default_reseller,
    rule_set,
)

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
        staff = {}
        for email, name, group_name in DEMO_STAFF:
            user = self._user(email, name, Role.USER)
            user.access_groups.set([groups[group_name]])
            staff[email] = user
        resellers = seed_resellers()
        reseller_users = self._reseller_users(resellers)
        seed_business(
            resellers=resellers,
            ticket_authors={None: staff[DEMO_STAFF[0][0]]}
            | {user.reseller.name: user for user in reseller_users},
        )
        self.stdout.write(self.style.SUCCESS("Demo data ready."))
        self.stdout.write(f"Demo administrator: {admin.email} / {DEMO_PASSWORD}")
        for email, _name, group_name in DEMO_STAFF:
            self.stdout.write(f"Demo user ({group_name}): {email} / {DEMO_PASSWORD}")
        for user in reseller_users:
            self.stdout.write(
                f"Demo reseller user ({user.reseller.name}): {user.email} / {DEMO_PASSWORD}"
            )

    def _user(self, email: str, name: str, role: str) -> User:
        user = User.objects.find_by_email(email)
        if user is None:
            return User.objects.create_user(email, DEMO_PASSWORD, name=name, role=role)
        if not user.check_password(DEMO_PASSWORD) or user.name != name or user.role != role:
            user.name, user.role, user.is_active = name, role, True
            user.set_password(DEMO_PASSWORD)
            user.save()
        return user

    def _reseller_users(self, resellers) -> list[User]:
        """One user per reseller, in the default reseller group (ACCESS_MODEL.md preset)."""
        group = (
            Group.objects.filter(name__iexact=DEFAULT_RESELLER_NAME).first()
            or group_create_default_reseller()
        )
        users = []
        for email, name, reseller_name, shared in RESELLER_USERS:
            user = self._user(email, name, Role.USER)
            reseller = resellers[reseller_name]
            if user.reseller_id != reseller.pk or user.shared_ticket != shared:
                user.reseller, user.shared_ticket = reseller, shared
                user.save()
            user.access_groups.set([group])
            users.append(user)
        return users

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
