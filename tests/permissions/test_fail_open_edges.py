"""Small edges that used to fail open: a blank group name, a group checked in a state it
never ends in, audit entries tied to a reseller the area registry does not scope, bulk
writes that skipped the access-version bump, and cache writes made before the data they
were computed from was committed."""

import datetime
import json

import pytest
from django.apps import apps
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from accounts.models import User
from controlpanel.areas.models import Payment
from controlpanel.areas.registry import business_definitions
from controlpanel.audit import log as audit
from controlpanel.audit.models import AuditEntry
from controlpanel.kit.areas import ACTIONS, ALL_ACTIONS_MASK, get_area, mask_of
from permissions import services, transfer
from permissions.audit_views import entries_visible_to
from permissions.models import Effect, Group, Rule
from permissions.resolver import GroupData, RuleData, cache_key, effective_permissions, resolve
from resellers.models import Reseller
from resellers.selectors import reseller_path_of
from tests.api.conftest import Api, make_token
from tests.areas.factories import CustomerFactory, InvoiceFactory
from tests.factories import GroupFactory, ResellerFactory, UserFactory

pytestmark = pytest.mark.django_db
READ = mask_of(["read"])


def fresh(user) -> User:
    return User.objects.get(pk=user.pk)


def can(user, area="customer", action="read") -> bool:
    return effective_permissions(fresh(user)).can(area, action)


# --- A blank group name --------------------------------------------------------------------


def test_a_group_with_a_blank_name_is_still_granular():
    access = resolve(
        [GroupData("", ALL_ACTIONS_MASK)],
        [RuleData(area="customer", actions=READ, effect="allow", group="")],
    )
    assert access.can("customer", "read")
    assert not access.can("customer", "delete")
    assert not access.can("billing", "read")


@pytest.mark.parametrize("name", ["", "   "])
def test_the_database_refuses_a_group_with_a_blank_name(name):
    with pytest.raises(IntegrityError), transaction.atomic():
        Group.objects.create(name=name)
    assert not Group.objects.exists()


def test_renaming_a_group_to_blank_is_refused_naming_the_field():
    group = GroupFactory(name="Billing")
    with pytest.raises(ValidationError) as refused:
        services.group_update(group=group, name="  ")
    assert "name" in refused.value.message_dict
    group.refresh_from_db()
    assert group.name == "Billing"


# --- The group API checks the group it ends with ---------------------------------------


@pytest.fixture
def api_as():
    return lambda user: Api(make_token(user))


def test_a_manager_creates_a_granular_group_with_its_all_four_defaults(api_as, manager):
    response = api_as(manager).post(
        "/api/cp/group",
        {"name": "Customer desk", "rules": [{"area": "customer", "actions": ["read"]}]},
    )
    assert response.status_code == 201, response.json()
    assert response.json()["defaults"] == list(ACTIONS)
    assert response.json()["granular"] is True
    group = Group.objects.get(name="Customer desk")
    assert group.defaults == ALL_ACTIONS_MASK
    member = UserFactory(groups=[group])
    assert can(member, "customer", "read")
    assert not can(member, "carrier", "read")


def test_a_manager_still_cannot_create_a_group_whose_defaults_stay_in_force(api_as, manager):
    """Only a deny rule: the group keeps granting its defaults on every area."""
    response = api_as(manager).post(
        "/api/cp/group",
        {
            "name": "Almost everything",
            "rules": [{"area": "billing", "actions": ["delete"], "effect": "deny"}],
        },
    )
    assert response.status_code == 403
    assert not Group.objects.filter(name="Almost everything").exists()


def test_a_manager_cannot_create_a_granular_group_beyond_what_they_hold(api_as, manager):
    response = api_as(manager).post(
        "/api/cp/group",
        {"name": "Routing desk", "rules": [{"area": "routing", "actions": ["read"]}]},
    )
    assert response.status_code == 403
    assert not Group.objects.filter(name="Routing desk").exists()


def test_a_manager_makes_a_group_granular_and_widens_its_ignored_defaults_at_once(api_as, manager):
    group = GroupFactory(name="Nothing yet", defaults=0)
    response = api_as(manager).patch(
        f"/api/cp/group/{group.pk}",
        {"defaults": list(ACTIONS), "rules": [{"area": "customer", "actions": ["read"]}]},
    )
    assert response.status_code == 200, response.json()
    group.refresh_from_db()
    assert group.defaults == ALL_ACTIONS_MASK
    assert list(group.rules.values_list("area", flat=True)) == ["customer"]


def test_a_manager_cannot_widen_defaults_that_stay_in_force(api_as, manager):
    group = GroupFactory(name="Readers", defaults=READ)
    response = api_as(manager).patch(
        f"/api/cp/group/{group.pk}",
        {"defaults": list(ACTIONS), "rules": [{"area": "billing", "actions": ["delete"]}]},
    )
    assert response.status_code == 403
    group.refresh_from_db()
    assert group.defaults == READ
    assert not group.rules.exists()


# --- Audit entries follow the registry's reseller scope -----------------------------------


def test_every_areas_row_scope_agrees_with_the_registry():
    models = {definition.key: definition.model for definition in business_definitions()}
    models.update(user=User, group=Group, reseller=Reseller)
    for key, model in models.items():
        declared = reseller_path_of(model) is not None
        assert declared == get_area(key).reseller_scoped, key


def test_an_entry_about_a_group_made_for_a_reseller_is_not_shown_to_that_reseller(admin):
    acme = ResellerFactory(name="Acme")
    group = GroupFactory(name="Acme staff", reseller=acme)  # the group area is not scoped
    entry = audit.record(audit.Action.UPDATE, actor=admin, obj=group)
    assert entry.reseller_id is None


def test_an_entry_about_a_payment_belongs_to_its_customers_reseller(admin):
    acme = ResellerFactory(name="Acme")
    invoice = InvoiceFactory(customer=CustomerFactory(reseller=acme))
    payment = Payment.objects.create(
        invoice=invoice, paid_on=datetime.date(2026, 1, 2), amount="1.00"
    )
    entry = audit.record(audit.Action.CREATE, actor=admin, obj=payment)
    assert entry.reseller_id == acme.pk


def test_an_inactive_reseller_user_reads_no_audit_entries(reseller_user, admin):
    audit.record(audit.Action.UPDATE, actor=admin, obj=reseller_user)
    assert entries_visible_to(fresh(reseller_user)).exists()
    User.objects.filter(pk=reseller_user.pk).update(is_active=False)
    assert not entries_visible_to(fresh(reseller_user)).exists()


def test_the_access_stamp_never_reaches_the_audit_trail(admin):
    entry = audit.record(
        audit.Action.UPDATE, actor=admin, obj=admin, changes={"access_stamp": {"after": "x"}}
    )
    assert AuditEntry.objects.get(pk=entry.pk).changes == {}


# --- Bulk writes bump the access version ----------------------------------------------------


@pytest.fixture
def granular():
    group = GroupFactory(name="Granular")
    Rule.objects.create(group=group, area="customer", actions=READ)
    return group


@pytest.fixture
def member(granular):
    user = UserFactory(groups=[granular])
    assert can(user)  # warm the cache
    return user


def test_a_queryset_update_of_a_groups_rules_is_seen(member, granular):
    Rule.objects.filter(group=granular).update(actions=mask_of(["delete"]))
    assert not can(member, "customer", "read")
    assert can(member, "customer", "delete")


def test_a_queryset_update_moving_a_rule_to_another_group_is_seen_by_both(member, granular):
    other = GroupFactory(name="Other", defaults=0)
    newcomer = UserFactory(groups=[other])
    assert not can(newcomer)
    Rule.objects.filter(group=granular).update(group=other)
    assert can(newcomer)
    assert can(member, "carrier", "read")  # Granular lost its allow rule: defaults apply


def test_bulk_created_rules_are_seen(member, granular):
    Rule.objects.bulk_create(
        [Rule(group=granular, area="customer", actions=READ, effect=Effect.DENY)]
    )
    assert not can(member)


def test_bulk_updated_rules_are_seen(member, granular):
    rule = granular.rules.get()
    Rule.objects.bulk_update([Rule(pk=rule.pk, actions=mask_of(["update"]))], ["actions"])
    assert not can(member)
    assert can(member, "customer", "update")


def test_a_users_own_rule_created_in_bulk_is_seen(member):
    Rule.objects.bulk_create([Rule(user=member, area="customer", actions=READ, effect="deny")])
    assert not can(member)


def test_a_queryset_update_of_a_groups_defaults_is_seen(member):
    everyone = GroupFactory(name="Everyone", defaults=READ)
    member.access_groups.add(everyone)
    assert can(member, "carrier", "read")
    Group.objects.filter(pk=everyone.pk).update(defaults=0)
    assert not can(member, "carrier", "read")


def test_bulk_updated_group_defaults_are_seen(member):
    everyone = GroupFactory(name="Everyone", defaults=READ)
    member.access_groups.add(everyone)
    assert can(member, "carrier", "read")
    everyone.defaults = 0
    Group.objects.bulk_update([everyone], ["defaults"])
    assert not can(member, "carrier", "read")


def test_memberships_created_in_bulk_are_seen():
    user = UserFactory()
    assert not can(user)
    everyone = GroupFactory(name="Everyone", defaults=READ)
    Group.members.through.objects.bulk_create(
        [Group.members.through(user_id=user.pk, group_id=everyone.pk)]
    )
    assert can(user, "carrier", "read")


def test_memberships_deleted_through_a_queryset_are_seen(member, granular):
    Group.members.through.objects.filter(user_id=member.pk).delete()
    assert not can(member)


def test_a_membership_moved_by_a_queryset_update_is_seen(member, granular):
    nothing = GroupFactory(name="Nothing", defaults=0)
    Group.members.through.objects.filter(user_id=member.pk).update(group_id=nothing.pk)
    assert not can(member)


def test_the_related_managers_still_bump_once_each_way(member, granular):
    granular.members.remove(member)
    assert not can(member)
    granular.members.add(member)
    assert can(member)


def test_import_still_writes_in_bulk_and_is_seen(member, granular):
    rules = [{"area": "billing", "access": ["read"], "effect": "allow"}]
    transfer.import_access(
        json.dumps({"resellers": [], "groups": [{"name": "Granular", "rules": rules}], "users": []})
    )
    assert not can(member, "customer", "read")
    assert can(member, "billing", "read")


# --- Cache writes wait for the commit ---------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_an_answer_computed_in_a_transaction_that_rolls_back_is_never_cached():
    user = UserFactory()
    everyone = GroupFactory(name="Everyone")

    class Abandon(Exception):
        pass

    with pytest.raises(Abandon), transaction.atomic():
        user.access_groups.add(everyone)
        inside = fresh(user)
        assert effective_permissions(inside).can("billing", "delete")
        raise Abandon

    assert cache.get(cache_key(inside)) is None
    assert not can(user, "billing", "delete")


@pytest.mark.django_db(transaction=True)
def test_an_answer_computed_in_a_transaction_is_cached_only_once_it_commits():
    user = UserFactory(groups=[GroupFactory(name="Everyone")])
    with transaction.atomic():
        row = fresh(user)
        assert effective_permissions(row).can("carrier", "read")
        assert cache.get(cache_key(row)) is None
    assert cache.get(cache_key(row)) is not None


def test_an_answer_read_before_a_concurrent_change_committed_is_not_cached(granular):
    user = UserFactory(groups=[granular])
    before = fresh(user)  # this request loaded the row...
    user.access_groups.remove(granular)  # ...then another request's change committed
    effective_permissions(before)  # resolved from the data as it is now
    assert cache.get(cache_key(before)) is None
    assert not can(user)


def test_the_membership_guard_survives_a_rebuilt_app_registry_cache():
    apps.clear_cache()  # what Django does when a model is registered late
    user = UserFactory()
    assert not can(user)
    Group.members.through.objects.bulk_create(
        [Group.members.through(user_id=user.pk, group_id=GroupFactory(defaults=READ).pk)]
    )
    assert can(user, "carrier", "read")
