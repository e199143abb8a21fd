"""Writes to groups and rules, and the rules that keep such writes honest.

Views, commands and the API call these, never the ORM. Every function takes an optional
keyword ``actor``: the signed-in user making the change. ``actor=None`` means a trusted
caller (a management command, the shell, seed data) and skips the permission and
"no one grants what they do not hold" checks. The checks that protect the data itself
(optimistic concurrency, and in ``accounts.services`` the last administrator) apply to
every caller.

The escalation checks (ACCESS_MODEL.md, "No one grants what they do not hold") live here
so users and groups share one implementation: ``accounts.services`` calls them too.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q

from accounts.models import User
from controlpanel.audit import log as audit
from controlpanel.kit.areas import (
    ALL_ACTIONS_MASK,
    actions_of,
    all_areas,
    get_area,
    is_area,
    mask_of,
)

from .models import Effect, Group, Rule
from .resolver import EffectivePermissions, GroupData, RuleData, load_from_database, resolve
from .selectors import access_data

ALL_ACTIONS = ("create", "read", "update", "delete")

NOT_SIGNED_IN = "Only a signed-in, active user can make this change."
CANNOT_MANAGE_ADMINISTRATOR = (
    "Only an administrator can edit, reset, deactivate or delete an administrator."
)
OUTSIDE_RESELLER = "That user belongs to another reseller; you manage only your reseller's users."
OWN_ACCESS = "You cannot change your own role, groups, rules or IP whitelist; ask an administrator."
TARGET_HOLDS_MORE = (
    "{user} can {missing}, which you cannot. Only an administrator, or someone who holds "
    "all of a user's permissions, can change that user."
)
GRANT_NOT_HELD = "You cannot {doing}: it would grant {missing}, which you do not hold yourself."
GROUP_BEYOND_REACH = "grants {missing}, which you do not hold"
STALE_GROUP = (
    "This group was changed by someone else after you opened the form. Nothing was saved; "
    "reload the page to see the current values and make your change again."
)
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


class _Unchanged:
    """Marks a keyword argument left out of an update: that field keeps its value."""

    def __repr__(self) -> str:
        return "UNCHANGED"


UNCHANGED = _Unchanged()


# --- The actor -------------------------------------------------------------------------


@dataclass(frozen=True)
class ActorContext:
    """Who is acting. ``access`` is None when nothing limits them: a trusted caller
    (``user`` None) or an administrator."""

    user: User | None
    access: EffectivePermissions | None

    @property
    def unlimited(self) -> bool:
        return self.access is None

    @property
    def is_trusted_or_administrator(self) -> bool:
        return self.user is None or self.user.is_administrator

    @property
    def reseller_id(self) -> int | None:
        """The reseller that scopes the users this actor sees and manages (the role does
        not widen it; see ``resellers.selectors.scoped``)."""
        return self.user.reseller_id if self.user is not None else None

    def require(self, area: str, action: str) -> None:
        if self.access is not None and not self.access.can(area, action):
            raise PermissionDenied(
                f"You do not have permission to {action} in {get_area(area).label}."
            )


def actor_context(actor) -> ActorContext:
    """Re-read the actor's row (role and active flag as they are now, not as the request
    loaded them) and resolve their permissions from the database."""
    if actor is None:
        return ActorContext(None, None)
    if not getattr(actor, "is_authenticated", False):
        raise PermissionDenied(NOT_SIGNED_IN)
    fresh = User.objects.filter(pk=actor.pk, is_active=True).first()
    if fresh is None:
        raise PermissionDenied(NOT_SIGNED_IN)
    if fresh.is_administrator:
        return ActorContext(fresh, None)
    return ActorContext(fresh, load_from_database(fresh))


# --- Comparing grants ------------------------------------------------------------------

Grants = dict[str, int]


def describe(grants: Grants) -> str:
    """``{"billing": 0b1001}`` → ``"create, delete on Billing"``."""
    parts = [
        f"{', '.join(actions_of(mask))} on {get_area(area).label}"
        for area, mask in grants.items()
        if mask and is_area(area)
    ]
    return "; ".join(parts)


def grants_of(groups: list[GroupData], rules: list[RuleData]) -> Grants:
    """What a user with these groups and rules may do, area by area (the pure resolver)."""
    access = resolve(groups, rules)
    return {area.key: access.mask(area.key) for area in all_areas()}


def denies_of(rules: list[RuleData]) -> Grants:
    denied: Grants = {}
    for rule in rules:
        if rule.effect == Effect.DENY:
            denied[rule.area] = denied.get(rule.area, 0) | rule.actions
    return denied


def gained(before: Grants, after: Grants) -> Grants:
    """What ``after`` has that ``before`` has not."""
    return {area: mask & ~before.get(area, 0) for area, mask in after.items()}


def _merge(*grants: Grants) -> Grants:
    merged: Grants = {}
    for grant in grants:
        for area, mask in grant.items():
            merged[area] = merged.get(area, 0) | mask
    return merged


def missing_from(ctx: ActorContext, grants: Grants) -> Grants:
    """The part of ``grants`` the actor does not hold themselves (empty when none)."""
    if ctx.unlimited:
        return {}
    missing = {area: mask & ~ctx.access.mask(area) for area, mask in grants.items()}
    return {area: mask for area, mask in missing.items() if mask}


def ensure_holds(ctx: ActorContext, grants: Grants, *, doing: str) -> None:
    """Refuse unless the actor holds every (area, action) in ``grants`` themselves."""
    if missing := missing_from(ctx, grants):
        raise PermissionDenied(GRANT_NOT_HELD.format(doing=doing, missing=describe(missing)))


def _group_grant(group: GroupData, rules: list[RuleData]) -> Grants:
    """What membership of this group alone grants (its own rules, denies included): the
    grant checked for every group a user is added to."""
    return grants_of([group], [rule for rule in rules if rule.group == group.name])


def ensure_group_change_held(
    ctx: ActorContext,
    *,
    name: str,
    before: tuple[int, list[RuleData]],
    after: tuple[int, list[RuleData]],
    doing: str,
) -> None:
    """A change to a group's defaults or rules may not grant its members anything the
    actor lacks: neither a new grant (a new allow rule, wider defaults, the last allow rule
    removed so the defaults apply again) nor a lifted deny (which would let another group's
    grant through)."""
    if ctx.unlimited:
        return
    (before_defaults, before_rules), (after_defaults, after_rules) = before, after
    new_grants = gained(
        grants_of([GroupData(name, before_defaults)], before_rules),
        grants_of([GroupData(name, after_defaults)], after_rules),
    )
    lifted_denies = gained(denies_of(after_rules), denies_of(before_rules))
    ensure_holds(ctx, _merge(new_grants, lifted_denies), doing=doing)


def ensure_user_access_change_held(
    ctx: ActorContext,
    *,
    before: tuple[list[GroupData], list[RuleData]],
    after: tuple[list[GroupData], list[RuleData]],
    added_groups: list[GroupData] = (),
    doing: str,
) -> None:
    """A change to a user's groups or rules may not let them do anything the actor cannot:
    every group added must grant only what the actor holds, and so must the user's
    resulting permissions compared with their current ones (removing a group that carried
    a deny, or deleting a deny rule, grants too)."""
    if ctx.unlimited:
        return
    __, after_rules = after
    for group in added_groups:
        ensure_holds(
            ctx,
            _group_grant(group, after_rules),
            doing=f"add the user to the group {group.name}",
        )
    ensure_holds(ctx, gained(grants_of(*before), grants_of(*after)), doing=doing)


def ensure_may_manage_user(
    ctx: ActorContext,
    target: User,
    *,
    own_access: bool = False,
    target_access: EffectivePermissions | None = None,
) -> None:
    """Whether the actor may change this user at all. ``own_access``: the change touches
    the target's role, groups, rules or IP whitelist. ``target_access``: the target's
    permissions when the caller loaded them in bulk (read from the database otherwise)."""
    if ctx.reseller_id is not None and target.reseller_id != ctx.reseller_id:
        raise PermissionDenied(OUTSIDE_RESELLER)
    if ctx.unlimited:
        return
    if target.is_administrator:
        raise PermissionDenied(CANNOT_MANAGE_ADMINISTRATOR)
    if target.pk == ctx.user.pk:
        if own_access:
            raise PermissionDenied(OWN_ACCESS)
        return
    # Whoever can reset a password or change an e-mail can become that user: so a
    # non-administrator manages only users whose permissions they hold themselves.
    if target_access is None:
        target_access = load_from_database(target)
    missing = {
        area.key: target_access.mask(area.key) & ~ctx.access.mask(area.key) for area in all_areas()
    }
    if any(missing.values()):
        raise PermissionDenied(
            TARGET_HOLDS_MORE.format(user=target.display_name, missing=describe(missing))
        )


# --- Read-only answers for pages --------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    """Whether the actor may do something, and why not, for a page to show (a link offered
    or not, a choice disabled with its reason), decided by the checks the writes apply.
    ``lacks`` is the (area, action) the actor is missing when that is the reason; None
    when the refusal is about the target (an administrator, a user holding more, another
    reseller's user): nothing the actor could be granted would change it."""

    allowed: bool
    reason: str = ""
    lacks: tuple[str, str] | None = None

    def __bool__(self) -> bool:
        return self.allowed


ALLOWED = Answer(True)


def _users_access(targets) -> dict[int, EffectivePermissions]:
    """What each of these users may do, from their groups and own rules (the pure
    resolver, without the role gate, as ``load_from_database`` does for one user): two
    queries for any number of users."""
    ids = [target.pk for target in targets]
    if not ids:
        return {}
    groups_of: dict[int, list[GroupData]] = {}
    names: dict[int, str] = {}
    for user_id, group_id, name, defaults in Group.members.through.objects.filter(
        user_id__in=ids
    ).values_list("user_id", "group_id", "group__name", "group__defaults"):
        groups_of.setdefault(user_id, []).append(GroupData(name, defaults))
        names[group_id] = name
    group_rules: dict[str, list[RuleData]] = {}
    own_rules: dict[int, list[RuleData]] = {}
    for group_id, user_id, area, actions, effect in Rule.objects.filter(
        Q(group_id__in=list(names)) | Q(user_id__in=ids)
    ).values_list("group_id", "user_id", "area", "actions", "effect"):
        if group_id is not None:
            name = names[group_id]
            group_rules.setdefault(name, []).append(RuleData(area, actions, effect, name))
        else:
            own_rules.setdefault(user_id, []).append(RuleData(area, actions, effect))
    access = {}
    for pk in ids:
        groups = groups_of.get(pk, [])
        rules = [rule for group in groups for rule in group_rules.get(group.name, [])]
        access[pk] = resolve(groups, rules + own_rules.get(pk, []))
    return access


def may_manage_users(
    actor, targets, *, action: str | None = None, own_access: bool = False
) -> dict[int, Answer]:
    """Read-only: for each of these users (by id), whether the actor may change them, by
    ``ensure_may_manage_user``, the check every write to a user applies; with ``action``,
    also whether the actor holds that action on users. A constant number of queries
    whatever the number of users (a page of the users list)."""
    targets = list(targets)
    try:
        ctx = actor_context(actor)
    except PermissionDenied as error:
        return {target.pk: Answer(False, str(error)) for target in targets}
    if action is not None:
        try:
            ctx.require("user", action)
        except PermissionDenied as error:
            refused = Answer(False, str(error), lacks=("user", action))
            return {target.pk: refused for target in targets}
    access = {}
    if not ctx.unlimited:
        access = _users_access(
            [t for t in targets if not t.is_administrator and t.pk != ctx.user.pk]
        )
    answers = {}
    for target in targets:
        try:
            ensure_may_manage_user(
                ctx, target, own_access=own_access, target_access=access.get(target.pk)
            )
        except PermissionDenied as error:
            answers[target.pk] = Answer(False, str(error))
        else:
            answers[target.pk] = ALLOWED
    return answers


def may_manage_user(
    actor, target: User, *, action: str | None = None, own_access: bool = False
) -> Answer:
    """``may_manage_users`` for one user."""
    return may_manage_users(actor, [target], action=action, own_access=own_access)[target.pk]


def may_edit_user(actor, target: User) -> Answer:
    """Whether the actor may open this user's edit form and save it: update on users, and
    a target they may manage. A refusal about the target carries no ``lacks``."""
    return may_manage_user(actor, target, action="update")


def groups_beyond_reach(actor, *, keep=()) -> dict[int, str]:
    """Read-only: the groups the actor could not add a user to, by id, each with the
    reason ("grants delete on Billing, which you do not hold"), by the very check
    ``ensure_user_access_change_held`` applies to every group added. ``keep``: ids of the
    groups the user already has, which are not being added. Empty for an administrator.
    Three queries: the actor's access, every group and every group rule."""
    ctx = actor_context(actor)
    if ctx.unlimited:
        return {}
    keep = set(keep)
    groups = {
        pk: GroupData(name, defaults)
        for pk, name, defaults in Group.objects.values_list("id", "name", "defaults")
        if pk not in keep
    }
    rules: dict[int, list[RuleData]] = {}
    for group_id, area, actions, effect in Rule.objects.filter(group__isnull=False).values_list(
        "group_id", "area", "actions", "effect"
    ):
        if group_id in groups:
            name = groups[group_id].name
            rules.setdefault(group_id, []).append(RuleData(area, actions, effect, name))
    reasons = {}
    for pk, group in groups.items():
        if missing := missing_from(ctx, _group_grant(group, rules.get(pk, []))):
            reasons[pk] = GROUP_BEYOND_REACH.format(missing=describe(missing))
    return reasons


def ensure_fresh(current: datetime.datetime, expected: datetime.datetime | None, message: str):
    """Optimistic concurrency: refuse when the row changed since the form was rendered."""
    if expected is not None and current != expected:
        raise ValidationError(message, code="stale")


def _group_state(group: Group) -> tuple[int, list[RuleData]]:
    __, rules = access_data([group.pk])
    return group.defaults, rules


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
    before = _group_state(locked)
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
    defaults, rules = _group_state(locked)
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
            "rules": {"before": [_describe_rule(rule) for rule in locked.rules.all()]},
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
            "rules": {"after": [_describe_rule(rule) for rule in group.rules.all()]},
        },
    )
    return group


# --- Rules -----------------------------------------------------------------------------


def _describe_rule(rule: Rule | RuleData) -> str:
    return f"{rule.effect} {', '.join(actions_of(rule.actions))} on {rule.area}"


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
        defaults, rules = _group_state(group)
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
        message=f"Rule for {_owner_label(rule)}: {_describe_rule(rule)}.",
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
    message = f"Rule for {_owner_label(current)}: {_describe_rule(current)}."
    if moved:
        message = (
            f"Rule for {_owner_label(current)} changed from {_describe_rule(old)} "
            f"to {_describe_rule(current)}."
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
        doing=f"delete the rule {_describe_rule(current)}",
    )
    audit.record(
        audit.Action.DELETE,
        actor=ctx.user,
        address=address,
        obj=group or user,
        message=f"Deleted rule for {_owner_label(current)}: {_describe_rule(current)}.",
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
