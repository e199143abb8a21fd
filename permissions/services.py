"""Writes to groups, and the Default Reseller preset.

Views, commands and the API call these, never the ORM. Every function takes an optional
keyword ``actor``: the signed-in user making the change. ``actor=None`` means a trusted
caller (a management command, the shell, seed data) and skips the permission and
"no one grants what they do not hold" checks. The checks that protect the data itself
(optimistic concurrency, and in ``permissions.user_services`` the last administrator) apply to
every caller.

The rule services are ``permissions.rule_services``, re-exported here so
``from permissions.services import rule_create`` keeps working. The escalation checks
(ACCESS_MODEL.md, "No one grants what they do not hold") are ``permissions.checks``,
shared with the user services.
"""

from __future__ import annotations

import datetime

from django.db import transaction

from controlpanel.audit import log as audit
from controlpanel.kit.areas import ALL_ACTIONS_MASK, actions_of, mask_of

from .checks import UNCHANGED, actor_context, ensure_fresh, ensure_group_change_held
from .models import Effect, Group, Rule
from .resolver import RuleData
from .rule_services import (  # the rule services, re-exported: one import path for callers
    AREA_REFUSED,
    AREAS_REQUIRED,
    DUPLICATE_RULE,
    STALE_RULE,
    UNKNOWN_AREA,
    UNKNOWN_EFFECT,
    describe_rule,
    group_state,
    rule_create,
    rule_create_many,
    rule_delete,
    rule_set,
    rule_update,
)

__all__ = [
    "AREAS_REQUIRED",
    "AREA_REFUSED",
    "DEFAULT_RESELLER_NAME",
    "DEFAULT_RESELLER_PRESET",
    "DUPLICATE_RULE",
    "STALE_GROUP",
    "STALE_RULE",
    "UNKNOWN_AREA",
    "UNKNOWN_EFFECT",
    "group_create",
    "group_create_default_reseller",
    "group_delete",
    "group_update",
    "rule_create",
    "rule_create_many",
    "rule_delete",
    "rule_set",
    "rule_update",
]

ALL_ACTIONS = ("create", "read", "update", "delete")

STALE_GROUP = (
    "This group was changed by someone else after you opened the form. Nothing was saved; "
    "reload the page to see the current values and make your change again."
)


# ACCESS_MODEL.md, "Create Default Reseller": allow rules make the group granular, so its
# defaults are nullified and the settings areas get nothing.
DEFAULT_RESELLER_NAME = "Reseller"
DEFAULT_RESELLER_PRESET: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("customer", ALL_ACTIONS),
    ("contact", ALL_ACTIONS),
    ("routing", ALL_ACTIONS),
    ("support-ticket", ALL_ACTIONS),
    ("card", ("read",)),
    ("billing", ("read",)),
    ("cdr", ("read",)),
)


@transaction.atomic
def group_create(
    *,
    name: str,
    defaults=ALL_ACTIONS,
    reseller=None,
    actor=None,
    address: str | None = None,
) -> Group:
    ctx = actor_context(actor)
    ctx.require("group", "create")
    group = Group(name=(name or "").strip(), defaults=mask_of(defaults), reseller=reseller)
    group.full_clean()
    ensure_group_change_held(
        ctx,
        name=group.name,
        before=(0, []),
        after=(group.defaults, []),
        doing=f"create the group {group.name} with these default permissions",
    )
    group.save()
    audit.record(
        audit.Action.CREATE,
        actor=ctx.user,
        address=address,
        obj=group,
        message=f"Created group {group.name}.",
        changes={"name": {"after": group.name}, "defaults": {"after": group.default_actions}},
    )
    return group


@transaction.atomic
def group_update(
    *,
    group: Group,
    name=UNCHANGED,
    defaults=UNCHANGED,
    expected_updated_at: datetime.datetime | None = None,
    actor=None,
    address: str | None = None,
) -> Group:
    ctx = actor_context(actor)
    ctx.require("group", "update")
    locked = Group.objects.select_for_update().get(pk=group.pk)
    ensure_fresh(locked.updated_at, expected_updated_at, STALE_GROUP)
    before = group_state(locked)
    changes = {}
    if name is not UNCHANGED and name.strip() != locked.name:
        changes["name"] = {"before": locked.name, "after": name.strip()}
        locked.name = name.strip()
    if defaults is not UNCHANGED and mask_of(defaults) != locked.defaults:
        changes["defaults"] = {
            "before": locked.default_actions,
            "after": actions_of(mask_of(defaults)),
        }
        locked.defaults = mask_of(defaults)
    if not changes:
        return locked
    locked.full_clean()
    ensure_group_change_held(
        ctx,
        name=locked.name,
        before=before,
        after=(locked.defaults, before[1]),
        doing=f"change the default permissions of {locked.name}",
    )
    locked.save()
    audit.record(
        audit.Action.UPDATE,
        actor=ctx.user,
        address=address,
        obj=locked,
        message=f"Updated group {locked.name}.",
        changes=changes,
    )
    return locked


@transaction.atomic
def group_delete(*, group: Group, actor=None, address: str | None = None) -> None:
    ctx = actor_context(actor)
    ctx.require("group", "delete")
    locked = Group.objects.select_for_update().get(pk=group.pk)
    defaults, rules = group_state(locked)
    # Deleting a group lifts its denies for its members.
    ensure_group_change_held(
        ctx,
        name=locked.name,
        before=(defaults, rules),
        after=(0, []),
        doing=f"delete the group {locked.name}",
    )
    members = sorted(locked.members.values_list("email", flat=True))
    audit.record(
        audit.Action.DELETE,
        actor=ctx.user,
        address=address,
        obj=locked,
        message=f"Deleted group {locked.name}.",
        changes={
            "name": {"before": locked.name},
            "defaults": {"before": locked.default_actions},
            "rules": {"before": [describe_rule(rule) for rule in locked.rules.all()]},
            "members": {"removed": members},
        },
    )
    locked.delete()


def _next_default_reseller_name() -> str:
    taken = {
        name.lower()
        for name in Group.objects.filter(name__istartswith=DEFAULT_RESELLER_NAME).values_list(
            "name", flat=True
        )
    }
    if DEFAULT_RESELLER_NAME.lower() not in taken:
        return DEFAULT_RESELLER_NAME
    number = 2
    while f"{DEFAULT_RESELLER_NAME} {number}".lower() in taken:
        number += 1
    return f"{DEFAULT_RESELLER_NAME} {number}"


@transaction.atomic
def group_create_default_reseller(
    *, reseller=None, actor=None, address: str | None = None
) -> Group:
    """A new group named Reseller, Reseller 2, … with ACCESS_MODEL.md's reseller preset,
    optionally linked to the reseller it was made for."""
    ctx = actor_context(actor)
    ctx.require("group", "create")
    name = _next_default_reseller_name()
    group = Group(name=name, defaults=ALL_ACTIONS_MASK, reseller=reseller)
    group.full_clean()
    rules = [
        RuleData(area=area, actions=mask_of(actions), effect=Effect.ALLOW, group=name)
        for area, actions in DEFAULT_RESELLER_PRESET
    ]
    ensure_group_change_held(
        ctx,
        name=name,
        before=(0, []),
        after=(group.defaults, rules),
        doing=f"create the group {name}",
    )
    group.save()
    for rule in rules:
        row = Rule(group=group, area=rule.area, actions=rule.actions, effect=rule.effect)
        row.full_clean()
        row.save()
    audit.record(
        audit.Action.CREATE,
        actor=ctx.user,
        address=address,
        obj=group,
        message=f"Created default reseller group {name}.",
        changes={
            "name": {"after": name},
            "defaults": {"after": group.default_actions},
            "rules": {"after": [describe_rule(rule) for rule in group.rules.all()]},
        },
    )
    return group


# --- Rules -----------------------------------------------------------------------------
