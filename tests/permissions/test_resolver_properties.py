"""Property-based tests of the resolution invariants, on the pure ``resolve``."""

from hypothesis import given
from hypothesis import strategies as st

from controlpanel.kit.areas import ACTIONS, ALL_ACTIONS_MASK, all_areas
from permissions.resolver import GroupData, RuleData, resolve

AREAS = [area.key for area in all_areas()]

masks = st.integers(min_value=1, max_value=ALL_ACTIONS_MASK)
areas = st.sampled_from(AREAS)
effects = st.sampled_from(["allow", "deny"])


@st.composite
def configurations(draw):
    names = draw(st.lists(st.sampled_from("ABCDEF"), unique=True, max_size=4))
    groups = [GroupData(n, draw(st.integers(0, ALL_ACTIONS_MASK))) for n in names]
    owners = [*names, None]
    rules = draw(
        st.lists(
            st.builds(
                RuleData, area=areas, actions=masks, effect=effects, group=st.sampled_from(owners)
            ),
            max_size=12,
        )
    )
    return groups, rules


def cells(access):
    return {(a, x) for a in AREAS for x in ACTIONS if access.can(a, x)}


@given(configurations())
def test_deny_wins_wherever_it_comes_from(config):
    groups, rules = config
    access = resolve(groups, rules)
    for rule in rules:
        if rule.effect == "deny":
            for action in ACTIONS:
                if rule.actions & (1 << ACTIONS.index(action)):
                    assert not access.can(rule.area, action)


@given(configurations(), areas, masks)
def test_adding_an_allow_never_removes_a_permission_it_does_not_deny(config, area, mask):
    groups, rules = config
    before = cells(resolve(groups, rules))
    after = cells(resolve(groups, [*rules, RuleData(area, mask, "allow", None)]))
    assert before <= after


@given(configurations(), areas, masks, st.sampled_from([*"ABCDEF", None]))
def test_adding_a_deny_never_adds_a_permission(config, area, mask, owner):
    groups, rules = config
    if owner is not None and owner not in {g.name for g in groups}:
        owner = None
    before = cells(resolve(groups, rules))
    after = cells(resolve(groups, [*rules, RuleData(area, mask, "deny", owner)]))
    assert after <= before


@given(configurations())
def test_a_granular_group_never_grants_outside_its_rules(config):
    groups, rules = config
    for group in groups:
        own = [r for r in rules if r.group == group.name]
        if not any(r.effect == "allow" for r in own):
            continue
        alone = resolve([group], own)
        allowed = {
            (r.area, a)
            for r in own
            if r.effect == "allow"
            for a in ACTIONS
            if r.actions & (1 << ACTIONS.index(a))
        }
        assert cells(alone) <= allowed


@given(configurations())
def test_explain_agrees_with_can(config):
    groups, rules = config
    access = resolve(groups, rules)
    for area in AREAS:
        for action in ACTIONS:
            decision = access.explain(area, action)
            assert decision.allowed == access.can(area, action)
            assert decision.reasons
