"""Rules as the API shows and takes them, for groups and for users' own rules.

A request gives the whole list of an owner's rules; ``apply_rules`` turns it into the
same service calls the pages make, one rule at a time (``rule_set``/``rule_delete`` for
groups, ``user_rule_set``/``user_rule_delete`` for users), so every step passes the
"no one grants what they do not hold" checks. Denies are set first and removals come
last, so no step grants more along the way than the final list does.
"""

from __future__ import annotations

from collections.abc import Callable

from django.core.exceptions import ValidationError
from rest_framework import serializers

from controlpanel.kit.areas import ACTIONS, all_areas, mask_of
from permissions.models import Effect, Rule

LISTED_TWICE = (
    "rules[{index}]: {effect} on {area} is listed twice; give one rule per area and effect."
)


class RuleSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    area = serializers.ChoiceField(choices=())  # the registry's keys, read per serializer
    actions = serializers.ListField(
        child=serializers.ChoiceField(choices=list(ACTIONS)), min_length=1, max_length=4
    )
    effect = serializers.ChoiceField(choices=Effect.values, default=Effect.ALLOW)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["area"].choices = [area.key for area in all_areas()]

    def to_representation(self, rule: Rule) -> dict:
        return {
            "id": rule.pk,
            "area": rule.area,
            "actions": rule.action_list,
            "effect": rule.effect,
        }


def apply_rules(
    *,
    current: list[Rule],
    wanted: list[dict],
    set_rule: Callable[..., Rule],
    delete_rule: Callable[[Rule], None],
) -> None:
    """Make the owner's rules exactly ``wanted``. ``set_rule(area=, actions=, effect=)``
    creates or replaces one; ``delete_rule(rule)`` removes one."""
    by_key: dict[tuple[str, str], dict] = {}
    for index, rule in enumerate(wanted):
        key = (rule["area"], rule["effect"])
        if key in by_key:
            raise ValidationError(
                {"rules": LISTED_TWICE.format(index=index, effect=key[1], area=key[0])}
            )
        by_key[key] = rule
    existing = {(rule.area, rule.effect): rule for rule in current}
    ordered = sorted(by_key.items(), key=lambda item: item[0][1] != Effect.DENY)
    for (area, effect), rule in ordered:
        present = existing.get((area, effect))
        if present is not None and present.actions == mask_of(rule["actions"]):
            continue
        set_rule(area=area, actions=list(rule["actions"]), effect=effect)
    for key, rule in existing.items():
        if key not in by_key:
            delete_rule(rule)
