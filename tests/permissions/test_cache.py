"""Every kind of change is seen on the next resolution; a cache outage falls back to the
database and never allows what the database denies."""

from unittest import mock

import pytest
from django.core.cache import cache
from django.test import override_settings

from accounts.models import Role, User
from controlpanel.kit.areas import mask_of
from permissions.models import Effect, Rule
from permissions.resolver import cache_key, effective_permissions
from tests.factories import GroupFactory, UserFactory

pytestmark = pytest.mark.django_db


def fresh(user) -> User:
    """What the next request sees: the user row loaded anew (as on any app server)."""
    return User.objects.get(pk=user.pk)


def can(user, area="customer", action="read") -> bool:
    return effective_permissions(fresh(user)).can(area, action)


@pytest.fixture
def granular():
    group = GroupFactory(name="Granular")
    Rule.objects.create(group=group, area="customer", actions=mask_of(["read"]))
    return group


@pytest.fixture
def member(granular):
    user = UserFactory(groups=[granular])
    assert can(user)  # warm the cache
    return user


def test_result_is_cached_under_the_users_access_version(member):
    user = fresh(member)
    key = cache_key(user)
    assert cache.get(key) is not None


def test_warm_resolution_reads_no_database(member, django_assert_num_queries):
    user = fresh(member)
    with django_assert_num_queries(0):
        assert effective_permissions(user).can("customer", "read")


def test_removing_the_user_from_the_group(member, granular):
    member.access_groups.remove(granular)
    assert not can(member)


def test_removing_the_group_from_its_side(member, granular):
    granular.members.remove(member)
    assert not can(member)


def test_clearing_a_groups_members(member, granular):
    granular.members.clear()
    assert not can(member)


def test_clearing_a_users_groups(member):
    member.access_groups.clear()
    assert not can(member)


def test_adding_the_user_to_another_group(member):
    other = GroupFactory(defaults=mask_of(["delete"]))
    member.access_groups.add(other)
    assert can(member, "carrier", "delete")


def test_changing_a_rule_of_the_group(member, granular):
    rule = granular.rules.get()
    rule.actions = mask_of(["update"])
    rule.save()
    assert not can(member)
    assert can(member, "customer", "update")


def test_adding_a_deny_rule_to_the_group(member, granular):
    Rule.objects.create(group=granular, area="customer", actions=mask_of(["read"]), effect="deny")
    assert not can(member)


def test_deleting_the_groups_allow_rule_brings_back_its_defaults(member, granular):
    granular.rules.get().delete()
    assert can(member, "billing", "delete")  # defaults (CRUD) apply again


def test_changing_a_groups_defaults(member):
    other = GroupFactory(defaults=mask_of(["read"]))
    member.access_groups.add(other)
    assert can(member, "carrier", "read")
    other.defaults = mask_of(["create"])
    other.save()
    assert not can(member, "carrier", "read")


def test_deleting_a_group(member, granular):
    granular.delete()
    assert not can(member)


def test_users_own_rules(member):
    rule = Rule.objects.create(
        user=member, area="customer", actions=mask_of(["read"]), effect=Effect.DENY
    )
    assert not can(member)
    rule.delete()
    assert can(member)


def test_role_change_takes_effect_at_once(member):
    user = fresh(member)
    user.role = Role.ADMINISTRATOR
    user.save()
    assert can(member, "audit-log", "delete")


def test_an_old_instance_saved_later_does_not_bring_back_a_stale_version(member, granular):
    stale = fresh(member)  # loaded before the change
    member.access_groups.remove(granular)
    stale.name = "Renamed"
    stale.save()
    assert not can(member)


def test_cache_outage_falls_back_to_the_database(member, granular):
    Rule.objects.create(group=granular, area="customer", actions=mask_of(["read"]), effect="deny")
    with (
        mock.patch.object(cache, "get", side_effect=ConnectionError("cache down")),
        mock.patch.object(cache, "set", side_effect=ConnectionError("cache down")),
    ):
        access = effective_permissions(fresh(member))
    assert not access.can("customer", "read")


@pytest.mark.parametrize(
    "backend", ["django.core.cache.backends.redis.RedisCache", "controlpanel.kit.cache.RedisCache"]
)
def test_an_unreachable_redis_resolves_from_the_database_without_granting(granular, backend):
    with override_settings(
        CACHES={"default": {"BACKEND": backend, "LOCATION": "redis://127.0.0.1:1/0"}}
    ):
        _resolves_without_granting(granular)


def _resolves_without_granting(granular):
    user = UserFactory(groups=[granular])
    access = effective_permissions(fresh(user))
    assert access.can("customer", "read")
    assert not access.can("customer", "delete")


def test_a_cached_answer_still_explains_itself(member):
    warm = effective_permissions(fresh(member))
    assert not warm.explained  # rebuilt from the compact cached form
    decision = warm.explain("customer", "read")
    assert decision.allowed
    assert decision.reasons == ("group 'Granular': allow rule grants read on customer",)


def test_explaining_every_cell_of_a_cached_answer_loads_the_database_once(
    member, django_assert_max_num_queries
):
    warm = effective_permissions(fresh(member))
    with django_assert_max_num_queries(3):
        for area in ("customer", "billing", "routing", "cdr"):
            for action in ("create", "read", "update", "delete"):
                warm.explain(area, action)
