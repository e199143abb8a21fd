"""ACCESS_MODEL.md's worked examples and resolution rules, through the real database path."""

import pytest

from controlpanel.kit.areas import all_areas, mask_of
from permissions.models import Effect, Rule
from permissions.resolver import (
    KnownGroups,
    effective_permissions,
    load_from_database,
    load_inputs,
)
from tests.factories import AdminFactory, GroupFactory, UserFactory

pytestmark = pytest.mark.django_db

CRUD = ["create", "read", "update", "delete"]
AREAS = [area.key for area in all_areas()]


def grid(user) -> dict[str, set[str]]:
    access = effective_permissions(user)
    return {area: set(access.actions(area)) for area in AREAS}


def group(defaults=CRUD, rules=()):
    g = GroupFactory(defaults=mask_of(defaults))
    for area, actions, effect in rules:
        Rule.objects.create(group=g, area=area, actions=mask_of(actions), effect=effect)
    return g


def test_defaults_crud_without_rules_grant_crud_on_every_area():
    user = UserFactory(groups=[group()])
    assert grid(user) == {area: set(CRUD) for area in AREAS}


def test_allow_rules_nullify_the_defaults():
    allows = [(a, ["read"], Effect.ALLOW) for a in ("customer", "contact", "billing")]
    user = UserFactory(groups=[group(rules=allows)])
    expected = {area: set() for area in AREAS}
    expected.update(customer={"read"}, contact={"read"}, billing={"read"})
    assert grid(user) == expected


def test_create_and_read_defaults_apply_everywhere():
    user = UserFactory(groups=[group(defaults=["create", "read"])])
    assert grid(user) == {area: {"create", "read"} for area in AREAS}


def test_a_deny_rule_keeps_the_defaults_and_takes_one_action_away():
    user = UserFactory(groups=[group(rules=[("billing", ["delete"], Effect.DENY)])])
    result = grid(user)
    assert result["billing"] == {"create", "read", "update"}
    assert all(result[a] == set(CRUD) for a in AREAS if a != "billing")


def test_groups_are_additive():
    a = group(defaults=["read"])
    b = group(rules=[("routing", ["update"], Effect.ALLOW)])
    result = grid(UserFactory(groups=[a, b]))
    assert result["routing"] == {"read", "update"}
    assert all(result[x] == {"read"} for x in AREAS if x != "routing")


def test_deny_in_one_group_beats_allow_in_another():
    a = group()
    b = group(rules=[("billing", ["read"], Effect.DENY)])
    result = grid(UserFactory(groups=[a, b]))
    assert result["billing"] == {"create", "update", "delete"}
    assert all(result[x] == set(CRUD) for x in AREAS if x != "billing")


def test_user_with_no_groups_and_no_rules_has_nothing(outsider):
    assert grid(outsider) == {area: set() for area in AREAS}
    reasons = effective_permissions(outsider).explain("customer", "read").reasons
    assert "no groups and no own rules" in reasons[0]


def test_users_own_allow_rule_adds_and_own_deny_takes_away():
    user = UserFactory(groups=[group(defaults=["read"])])
    Rule.objects.create(user=user, area="cdr", actions=mask_of(["create"]), effect=Effect.ALLOW)
    Rule.objects.create(user=user, area="customer", actions=mask_of(["read"]), effect=Effect.DENY)
    user.refresh_from_db()
    result = grid(user)
    assert result["cdr"] == {"read", "create"}
    assert result["customer"] == set()


def test_administrator_can_do_everything_and_rules_do_not_apply():
    admin = AdminFactory(groups=[group(rules=[("billing", CRUD, Effect.DENY)])])
    assert grid(admin) == {area: set(CRUD) for area in AREAS}
    decision = effective_permissions(admin).explain("billing", "delete")
    assert decision.allowed and "administrator" in decision.reasons[0]


def test_inactive_user_can_do_nothing_whatever_their_role():
    admin = AdminFactory(is_active=False)
    assert grid(admin) == {area: set() for area in AREAS}
    assert effective_permissions(admin).explain("user", "read").reasons == (
        "inactive user: an inactive user can do nothing",
    )


def test_unknown_area_is_never_allowed():
    user = UserFactory(groups=[group()])
    assert effective_permissions(user).can("no-such-area", "read") is False


def test_explain_names_the_group_rule_that_granted_and_the_deny_that_won():
    a = GroupFactory(name="Billing")
    Rule.objects.create(group=a, area="billing", actions=mask_of(["read"]))
    b = GroupFactory(name="Auditors")
    Rule.objects.create(group=b, area="billing", actions=mask_of(["read"]), effect=Effect.DENY)
    user = UserFactory(groups=[a, b])
    decision = effective_permissions(user).explain("billing", "read")
    assert not decision.allowed
    assert decision.reasons[0] == "group 'Auditors': deny rule takes away read on billing"
    assert (
        "overridden by the deny: group 'Billing': allow rule grants read on billing"
        in decision.reasons
    )


def test_explain_says_a_granular_group_ignores_its_defaults():
    g = GroupFactory(name="Billing")
    Rule.objects.create(group=g, area="billing", actions=mask_of(["read"]))
    decision = effective_permissions(UserFactory(groups=[g])).explain("routing", "read")
    assert not decision.allowed
    assert any("'Billing' is granular" in r for r in decision.reasons)


def test_explain_names_the_default_grant():
    g = GroupFactory(name="Everyone", defaults=mask_of(["read"]))
    decision = effective_permissions(UserFactory(groups=[g])).explain("carrier", "read")
    assert decision.allowed
    assert decision.reasons == (
        "group 'Everyone' default permissions grant read on every area (no allow rules)",
    )


def test_cold_resolution_of_20_groups_with_20_rules_costs_at_most_3_queries(
    django_assert_max_num_queries,
):
    areas = AREAS[:10]
    groups = []
    for _ in range(20):
        g = GroupFactory()
        Rule.objects.bulk_create(
            [Rule(group=g, area=a, actions=mask_of(["read"]), effect=Effect.ALLOW) for a in areas]
            + [
                Rule(group=g, area=a, actions=mask_of(["delete"]), effect=Effect.DENY)
                for a in areas
            ]
        )
        groups.append(g)
    user = UserFactory(groups=groups)
    user.refresh_from_db()
    with django_assert_max_num_queries(3):
        access = effective_permissions(user)
    assert access.can("customer", "read") and not access.can("customer", "delete")
    with django_assert_max_num_queries(3):
        load_from_database(user)


def test_one_loader_reads_a_group_s_rules_once_across_batches(django_assert_num_queries):
    """The access review loads a batch of users at a time; a group met in an earlier batch
    is not read again, nor are its rules (a review of 100,000 users reads each group once)."""
    group = GroupFactory(name="Desk", defaults=0)
    Rule.objects.create(group=group, area="billing", actions=mask_of(["read"]))
    first, second = UserFactory(groups=[group]), UserFactory(groups=[group])
    Rule.objects.create(user=second, area="cdr", actions=mask_of(["read"]))
    known = KnownGroups()

    load_inputs([first.pk], known=known)
    with django_assert_num_queries(2) as queries:
        inputs = load_inputs([second.pk], known=known)

    rules_query = queries.captured_queries[1]["sql"].split("WHERE", 1)[1]
    assert "group_id" not in rules_query  # only the user's own rules were read
    assert effective_permissions(second).actions("billing") == ["read"]
    assert {(rule.area, rule.group) for rule in inputs[second.pk][1]} == {
        ("billing", "Desk"),
        ("cdr", None),
    }


def test_the_what_if_input_is_the_chosen_groups_and_the_user_s_own_rules():
    chosen = GroupFactory(name="Chosen", defaults=mask_of(["read"]))
    held = GroupFactory(name="Held", defaults=mask_of(["delete"]))
    user = UserFactory(groups=[held])
    Rule.objects.create(user=user, area="cdr", actions=mask_of(["update"]))

    groups, rules = load_inputs([user.pk], group_ids=[chosen.pk])[user.pk]

    assert [group.name for group in groups] == ["Chosen"]
    assert [(rule.area, rule.group) for rule in rules] == [("cdr", None)]
