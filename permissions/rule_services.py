"""Writes to rules, a group's or one user's own.

Split from ``permissions.services`` (the group services), which re-exports these names, so
``from permissions.services import rule_create`` keeps working. Every function takes an
optional keyword ``actor``: the signed-in user making the change; ``actor=None`` means a
trusted caller and skips the permission and "no one grants what they do not hold" checks
(``permissions.checks``, shared with the group and user services). Optimistic concurrency
applies to every caller.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from accounts.models import User
from controlpanel.audit import log as audit
from controlpanel.kit.areas import actions_of, get_area, is_area, mask_of

from .checks import (
    UNCHANGED,
    ActorContext,
    actor_context,
    ensure_fresh,
    ensure_group_change_held,
    ensure_holds,
    ensure_may_manage_user,
    ensure_user_access_change_held,
)
from .models import Effect, Group, Rule
from .resolver import RuleData
from .selectors import access_data

STALE_RULE = (
    "This rule was changed by someone else after you opened the form. Nothing was saved; "
    "reload the page to see its current access and make your change again."
)
DUPLICATE_RULE = (
    "This {owner} already has {article} {effect} rule on {area}; edit its access instead."
)
AREAS_REQUIRED = "Choose at least one area."
UNKNOWN_AREA = "Unknown area {area!r}; see manage.py list_areas."
UNKNOWN_EFFECT = "Choose allow or deny."
AREA_REFUSED = "Nothing was added: the rule on {area} was refused. {reason}"


def group_state(group: Group) -> tuple[int, list[RuleData]]:
    """A group's defaults and rules, as the escalation checks compare them."""
    __, rules = access_data([group.pk])
    return group.defaults, rules


def describe_rule(rule: Rule | RuleData) -> str:
    """As the audit log records it: "allow read, update on card"."""
    return f"{rule.effect} {', '.join(actions_of(rule.actions))} on {rule.area}"


def _rule_data(rule: Rule) -> RuleData:
    return RuleData(
        area=rule.area,
        actions=rule.actions,
        effect=rule.effect,
        group=rule.group.name if rule.group_id else None,
    )


def _replace_rule(rules: list[RuleData], old: RuleData | None, new: RuleData | None):
    kept = [rule for rule in rules if old is None or rule != old]
    return kept + ([new] if new is not None else [])


# --- Groups ----------------------------------------------------------------------------
def _owner_label(rule: Rule) -> str:
    return f"group {rule.group.name}" if rule.group_id else f"user {rule.user.email}"


def _rule_sentence(rule: RuleData) -> str:
    """As a person reads it, by the area's label: "allow read, update on Rate Cards"."""
    return f"{rule.effect} {', '.join(actions_of(rule.actions))} on {_area_label(rule.area)}"


def _area_label(area: str) -> str:
    return get_area(area).label if is_area(area) else repr(area)


def _check_rule_change(
    ctx: ActorContext, *, group, user, old: RuleData | None, new: RuleData | None, doing: str
) -> None:
    """Refuse a rule change that would let its owner do what the actor cannot. ``old`` and
    ``new`` may differ in area and effect as well as in actions."""
    if group is not None:
        ctx.require("group", "update")
        defaults, rules = group_state(group)
        ensure_group_change_held(
            ctx,
            name=group.name,
            before=(defaults, rules),
            after=(defaults, _replace_rule(rules, old, new)),
            doing=doing,
        )
        return
    ctx.require("user", "update")
    ensure_may_manage_user(ctx, user, own_access=True)
    if ctx.unlimited:
        return
    if new is not None and new.effect == Effect.ALLOW:
        # Only what the same (area, effect) already allowed is not new; a rule moved to
        # another area or turned from deny into allow grants all of its actions afresh.
        same = old is not None and (old.area, old.effect) == (new.area, new.effect)
        widened = new.actions & ~(old.actions if same else 0)
        ensure_holds(ctx, {new.area: widened}, doing=doing)
    groups, rules = access_data(user.access_groups.values_list("pk", flat=True), user.pk)
    ensure_user_access_change_held(
        ctx, before=(groups, rules), after=(groups, _replace_rule(rules, old, new)), doing=doing
    )


def _owner_for_update(group, user):
    """Lock the owner's row so two rule changes on one owner are decided one at a time."""
    if (group is None) == (user is None):
        raise ValidationError("A rule belongs to exactly one group or one user.")
    if group is not None:
        return Group.objects.select_for_update().get(pk=group.pk), None
    return None, User.objects.select_for_update().get(pk=user.pk)


def _checked_access(actions, effect: str) -> int:
    """The bit mask of ``actions``, once the effect and every action are known."""
    if effect not in Effect.values:
        raise ValidationError({"effect": UNKNOWN_EFFECT})
    try:
        return mask_of(actions)
    except ValueError as error:
        raise ValidationError({"actions": str(error)}) from None


def _duplicate_error(*, group, area: str, effect: str, field: str) -> ValidationError:
    """The owner already has a rule for (area, effect): said on the field that chose it."""
    return ValidationError(
        {
            field: ValidationError(
                DUPLICATE_RULE.format(
                    owner="group" if group is not None else "user",
                    article="an" if effect == Effect.ALLOW else "a",
                    effect=effect,
                    area=_area_label(area),
                ),
                code="duplicate",
            )
        }
    )


def _save_rule(
    ctx: ActorContext,
    *,
    group,
    user,
    area: str,
    actions,
    effect: str,
    replace: bool,
    address: str | None,
) -> Rule:
    group, user = _owner_for_update(group, user)
    if not is_area(area):
        raise ValidationError({"area": UNKNOWN_AREA.format(area=area)})
    mask = _checked_access(actions, effect)
    existing = Rule.objects.filter(group=group, user=user, area=area, effect=effect).first()
    if existing is not None and not replace:
        raise _duplicate_error(group=group, area=area, effect=effect, field="area")
    rule = existing or Rule(group=group, user=user, area=area, effect=effect)
    before = existing.actions if existing else None
    rule.actions = mask
    rule.full_clean()
    owner_name = group.name if group else None
    _check_rule_change(
        ctx,
        group=group,
        user=user,
        old=RuleData(area, before, effect, owner_name) if before is not None else None,
        new=RuleData(area, mask, effect, owner_name),
        doing=f"{effect} {', '.join(actions_of(mask))} on {get_area(area).label}",
    )
    rule.save()
    audit.record(
        audit.Action.UPDATE if existing else audit.Action.CREATE,
        actor=ctx.user,
        address=address,
        obj=group or user,
        message=f"Rule for {_owner_label(rule)}: {describe_rule(rule)}.",
        changes={
            "rule": {
                "area": area,
                "effect": effect,
                "before": actions_of(before) if before is not None else None,
                "after": actions_of(mask),
            }
        },
    )
    return rule


@transaction.atomic
def rule_set(
    *,
    area: str,
    actions,
    effect: str = Effect.ALLOW,
    group=None,
    user=None,
    actor=None,
    address: str | None = None,
) -> Rule:
    """Create or replace the rule of this owner for (area, effect)."""
    ctx = actor_context(actor)
    return _save_rule(
        ctx,
        group=group,
        user=user,
        area=area,
        actions=actions,
        effect=effect,
        replace=True,
        address=address,
    )


@transaction.atomic
def rule_create(
    *,
    area: str,
    actions,
    effect: str = Effect.ALLOW,
    group=None,
    user=None,
    actor=None,
    address: str | None = None,
) -> Rule:
    """Add a rule; refused when the owner already has one for (area, effect)."""
    ctx = actor_context(actor)
    return _save_rule(
        ctx,
        group=group,
        user=user,
        area=area,
        actions=actions,
        effect=effect,
        replace=False,
        address=address,
    )


@transaction.atomic
def rule_create_many(
    *,
    areas,
    actions,
    effect: str = Effect.ALLOW,
    group=None,
    user=None,
    actor=None,
    address: str | None = None,
) -> list[Rule]:
    """The same access and effect on several areas at once, all or nothing: one rule per
    area, each checked and audited as ``rule_create`` does, in one transaction. When one
    area is refused nothing is added, and the refusal names that area."""
    ctx = actor_context(actor)
    areas = list(dict.fromkeys(areas))  # an area ticked twice is one rule
    if not areas:
        raise ValidationError({"area": AREAS_REQUIRED})
    _checked_access(actions, effect)  # said once, not once per area
    rules = []
    for area in areas:
        try:
            rules.append(
                _save_rule(
                    ctx,
                    group=group,
                    user=user,
                    area=area,
                    actions=actions,
                    effect=effect,
                    replace=False,
                    address=address,
                )
            )
        except PermissionDenied as error:
            if len(areas) == 1:
                raise
            raise PermissionDenied(
                AREA_REFUSED.format(area=_area_label(area), reason=error)
            ) from error
        except ValidationError as error:
            if len(areas) == 1:
                raise
            raise ValidationError(
                {
                    "area": AREA_REFUSED.format(
                        area=_area_label(area), reason=" ".join(error.messages)
                    )
                }
            ) from error
    return rules


@transaction.atomic
def rule_update(
    *,
    rule: Rule,
    actions=UNCHANGED,
    area=UNCHANGED,
    effect=UNCHANGED,
    expected_actions: int | None = None,
    expected_area: str | None = None,
    expected_effect: str | None = None,
    actor=None,
    address: str | None = None,
) -> Rule:
    """Change a rule's access, area or effect (a field left out keeps its value), under
    the same checks as adding a rule: the result may grant nothing the actor lacks, and
    moving a rule off an area lifts its deny or takes back its allow there, which is
    checked too. The ``expected_*`` values are the rule as the form was rendered: if it
    changed since, nothing is saved."""
    ctx = actor_context(actor)
    group, user = _owner_for_update(rule.group, rule.user)
    current = Rule.objects.filter(pk=rule.pk).first()
    if current is None:
        raise ValidationError(STALE_RULE, code="stale")
    ensure_fresh(current.actions, expected_actions, STALE_RULE)
    ensure_fresh(current.area, expected_area, STALE_RULE)
    ensure_fresh(current.effect, expected_effect, STALE_RULE)
    new_area = current.area if area is UNCHANGED else area
    new_effect = current.effect if effect is UNCHANGED else effect
    if not is_area(new_area):
        raise ValidationError({"area": UNKNOWN_AREA.format(area=new_area)})
    mask = _checked_access(current.action_list if actions is UNCHANGED else actions, new_effect)
    moved = (new_area, new_effect) != (current.area, current.effect)
    if moved and (
        Rule.objects.filter(group=group, user=user, area=new_area, effect=new_effect)
        .exclude(pk=current.pk)
        .exists()
    ):
        field = "area" if new_area != current.area else "effect"
        raise _duplicate_error(group=group, area=new_area, effect=new_effect, field=field)
    if not moved and mask == current.actions:
        return current  # nothing changes: nothing to check or record
    old = _rule_data(current)
    new = RuleData(new_area, mask, new_effect, old.group)
    _check_rule_change(
        ctx,
        group=group,
        user=user,
        old=old,
        new=new,
        doing=f"change the rule “{_rule_sentence(old)}” to {_rule_sentence(new)}",
    )
    current.area, current.effect, current.actions = new_area, new_effect, mask
    current.full_clean()
    current.save()
    changes = {
        "rule": {
            "area": new_area,
            "effect": new_effect,
            "before": actions_of(old.actions),
            "after": actions_of(mask),
        }
    }
    if new_area != old.area:
        changes["area"] = {"before": old.area, "after": new_area}
    if new_effect != old.effect:
        changes["effect"] = {"before": old.effect, "after": new_effect}
    message = f"Rule for {_owner_label(current)}: {describe_rule(current)}."
    if moved:
        message = (
            f"Rule for {_owner_label(current)} changed from {describe_rule(old)} "
            f"to {describe_rule(current)}."
        )
    audit.record(
        audit.Action.UPDATE,
        actor=ctx.user,
        address=address,
        obj=group or user,
        message=message,
        changes=changes,
    )
    return current


@transaction.atomic
def rule_delete(*, rule: Rule, actor=None, address: str | None = None) -> None:
    ctx = actor_context(actor)
    group, user = _owner_for_update(rule.group, rule.user)
    current = Rule.objects.filter(pk=rule.pk).first()
    if current is None:
        return  # already gone: the outcome the actor asked for
    _check_rule_change(
        ctx,
        group=group,
        user=user,
        old=_rule_data(current),
        new=None,
        doing=f"delete the rule {describe_rule(current)}",
    )
    audit.record(
        audit.Action.DELETE,
        actor=ctx.user,
        address=address,
        obj=group or user,
        message=f"Deleted rule for {_owner_label(current)}: {describe_rule(current)}.",
        changes={
            "rule": {
                "area": current.area,
                "effect": current.effect,
                "before": current.action_list,
                "after": None,
            }
        },
    )
    current.delete()
