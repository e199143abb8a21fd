"""The default reseller group ("Create Default Reseller")."""

from controlpanel.audit.models import AuditEntry
from controlpanel.kit.areas import actions_of
from permissions.models import Group
from permissions.resolver import effective_permissions
from permissions.services import group_create_default_reseller
from tests.factories import UserFactory


def test_the_default_reseller_group_holds_the_preset(db):
    group = group_create_default_reseller()

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
    member = UserFactory(groups=[group_create_default_reseller()])

    access = effective_permissions(member)
    assert access.actions("customer") == ["create", "read", "update", "delete"]
    assert access.actions("billing") == ["read"]
    for area in ("user", "group", "reseller", "audit-log", "carrier"):
        assert access.actions(area) == []


def test_each_new_default_group_gets_the_next_name(db):
    names = [group_create_default_reseller().name for _ in range(3)]

    assert names == ["Reseller", "Reseller 2", "Reseller 3"]
    assert Group.objects.count() == 3
