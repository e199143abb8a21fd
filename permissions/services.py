"""Writes to groups and rules. Views, commands and the API call these, never the ORM."""

from django.db import transaction

from .areas import mask_of
from .models import Effect, Group, Rule


@transaction.atomic
def group_create(
    *, name: str, defaults=("create", "read", "update", "delete"), reseller=None
) -> Group:
    group = Group(name=name.strip(), defaults=mask_of(defaults), reseller=reseller)
    group.full_clean()
    group.save()
    return group


@transaction.atomic
def rule_set(*, area: str, actions, effect: str = Effect.ALLOW, group=None, user=None) -> Rule:
    """Create or replace the rule of this owner for (area, effect)."""
    rule = Rule.objects.filter(group=group, user=user, area=area, effect=effect).first()
    rule = rule or Rule(group=group, user=user, area=area, effect=effect)
    rule.actions = mask_of(actions)
    rule.full_clean()
    rule.save()
    return rule
