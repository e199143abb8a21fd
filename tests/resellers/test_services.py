"""The default reseller group ("Create Default Reseller")."""

from permissions.areas import actions_of
from permissions.models import AuditEntry, Group
from permissions.resolver import effective_permissions
from resellers.services import reseller_default_group_create
from tests.factories import UserFactory


def test_the_default_reseller_group_holds_the_preset(db):
    group = reseller_default_group_create()

    rules = {rule.area: actions_of(rule.actions) for rule in group.rules.all()}
    assert group.name == "Reseller"
    assert rules == {
        "customer": ["create", "read", "update", "delete"],
        "contact": ["create", "read", "update", "delete"],
        "routing": ["create", "read", "update", "delete"],
        "support-ticket": ["create", "read", "update", "delete"],
        "card": ["read"],
        "billing": ["read"],
        "cdr": ["read"],
    }
    assert AuditEntry.objects.filter(action="create", object_type="group").exists()


def test_a_member_of_the_default_group_has_nothing_on_settings_areas(db):
    member = UserFactory(groups=[reseller_default_group_create()])

    access = effective_permissions(member)
    assert access.actions("customer") == ["create", "read", "update", "delete"]
    assert access.actions("billing") == ["read"]
    for area in ("user", "group", "reseller", "audit-log", "carrier"):
        assert access.actions(area) == []


def test_each_new_default_group_gets_the_next_name(db):
    names = [reseller_default_group_create().name for _ in range(3)]

    assert names == ["Reseller", "Reseller 2", "Reseller 3"]
    assert Group.objects.count() == 3
