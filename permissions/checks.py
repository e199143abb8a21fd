"""The rules that keep writes to access honest (ACCESS_MODEL.md, "No one grants what they
do not hold"): who is acting, what they hold, whether they may manage a user, and the
read-only answers the pages show before anyone submits (a disabled group, an Edit link).
Group and rule services (``permissions.services``) and user services
(``permissions.user_services``) share this one implementation. ``actor=None`` is a
trusted caller (a command, the shell) and skips these checks.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied, ValidationError

from accounts.models import User
from controlpanel.kit.areas import actions_of, all_areas, get_area, is_area

from .models import Effect, Group, Rule
from .resolver import (
    EffectivePermissions,
    GroupData,
    RuleData,
    load_from_database,
    load_inputs,
    resolve,
)

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
LAST_ADMINISTRATOR = (
    "{user} is the last active administrator; the panel must keep at least one. "
    "Make another user an administrator first."
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


def ensure_not_last_administrator(target: User, active_administrators) -> None:
    """The panel keeps at least one active administrator: refuse to take ``target`` out of
    ``active_administrators`` (the ids of the active administrators; for a write, read
    with their rows locked) when no other would remain."""
    if not (target.is_administrator and target.is_active):
        return
    if not set(active_administrators) - {target.pk}:
        raise ValidationError(LAST_ADMINISTRATOR.format(user=target.display_name), code="last")


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
    return {pk: resolve(*inputs) for pk, inputs in load_inputs(t.pk for t in targets).items()}


def request_actor(actor, access: EffectivePermissions | None) -> ActorContext:
    """For read-only answers on a page: the actor as this request's middleware decided
    with, its user row (loaded by this request) and the permissions resolved for that row
    (``request.access``, cached under the row's access stamp), without a query. With
    ``access`` None, the actor is re-read as a write re-reads it (``actor_context``)."""
    if access is None:
        return actor_context(actor)
    if not getattr(actor, "is_authenticated", False) or not actor.is_active:
        raise PermissionDenied(NOT_SIGNED_IN)
    return ActorContext(actor, None if actor.is_administrator else access)


def _answers(
    ctx: ActorContext,
    targets: list[User],
    *,
    action: str | None,
    own_access: bool,
    access: dict[int, EffectivePermissions],
) -> dict[int, Answer]:
    """Each target's answer for this actor, by ``ensure_may_manage_user``; ``access``
    holds the targets' permissions, filled here for those not in it yet (two queries)."""
    if action is not None:
        try:
            ctx.require("user", action)
        except PermissionDenied as error:
            refused = Answer(False, str(error), lacks=("user", action))
            return {target.pk: refused for target in targets}
    if not ctx.unlimited:
        access.update(
            _users_access(
                [
                    t
                    for t in targets
                    if not t.is_administrator and t.pk != ctx.user.pk and t.pk not in access
                ]
            )
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


def may_manage_users(
    actor,
    targets,
    *,
    action: str | None = None,
    own_access: bool = False,
    access: EffectivePermissions | None = None,
) -> dict[int, Answer]:
    """Read-only: for each of these users (by id), whether the actor may change them, by
    ``ensure_may_manage_user``, the check every write to a user applies; with ``action``,
    also whether the actor holds that action on users. A constant number of queries
    whatever the number of users (a page of the users list). ``access``: the actor's
    permissions as the request resolved them (``request_actor``)."""
    targets = list(targets)
    try:
        ctx = request_actor(actor, access)
    except PermissionDenied as error:
        return {target.pk: Answer(False, str(error)) for target in targets}
    return _answers(ctx, targets, action=action, own_access=own_access, access={})


def may_manage_user(
    actor,
    target: User,
    *,
    action: str | None = None,
    own_access: bool = False,
    access: EffectivePermissions | None = None,
) -> Answer:
    """``may_manage_users`` for one user."""
    return may_manage_users(actor, [target], action=action, own_access=own_access, access=access)[
        target.pk
    ]


def may_edit_user(actor, target: User, *, access: EffectivePermissions | None = None) -> Answer:
    """Whether the actor may open this user's edit form and save it: update on users, and
    a target they may manage. A refusal about the target carries no ``lacks``."""
    return may_manage_user(actor, target, action="update", access=access)


def user_answers(
    actor,
    target: User,
    *,
    access: EffectivePermissions | None = None,
    **asks: tuple[str | None, bool],
) -> dict[str, Answer]:
    """Several ``may_manage_user`` answers about one user at once, by name
    (``edit=("update", False)``: the action, and whether the change touches the user's
    own access), from one reading of the actor and at most one of the target's
    permissions (a user's page asks for its Edit, rule and Delete links)."""
    try:
        ctx = request_actor(actor, access)
    except PermissionDenied as error:
        return {name: Answer(False, str(error)) for name in asks}
    loaded: dict[int, EffectivePermissions] = {}
    return {
        name: _answers(ctx, [target], action=action, own_access=own, access=loaded)[target.pk]
        for name, (action, own) in asks.items()
    }


def groups_beyond_reach(
    actor, *, keep=(), access: EffectivePermissions | None = None
) -> dict[int, str]:
    """Read-only: the groups the actor could not add a user to, by id, each with the
    reason ("grants delete on Billing, which you do not hold"), by the very check
    ``ensure_user_access_change_held`` applies to every group added. ``keep``: ids of the
    groups the user already has, which are not being added. Empty for an administrator.
    Two queries, every group and every group rule, and the actor's access unless the
    request's is given (``access``, see ``request_actor``)."""
    ctx = request_actor(actor, access)
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
