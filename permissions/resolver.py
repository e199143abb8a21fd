"""The one resolver: a user's effective permissions, as ACCESS_MODEL.md defines them.

Everything that asks "may this user do this?" (middleware, templates, API, commands, the
effective-permission grid) calls ``effective_permissions``. The rules are applied by the
pure function ``resolve`` over plain data, so the what-if grid and the tests use exactly
the same code as the request path.

Caching: the resolved object is kept in Django's cache under ``cache_key(user)``:
``access:<code version>:<user id>:<access version>:<access stamp>``. Every change to a
user's groups or own rules, and every change to a group's defaults or rules, bumps
``access_version`` and replaces ``access_stamp`` (128 random bits) on the affected users'
rows in the same transaction as the change (see ``permissions.signals``; bulk writes are
guarded in ``permissions.models``). The user row is loaded on every request anyway, so a
warm check costs no query, and a change is seen on the next request of every app server,
whatever the cache holds.

The stamp makes every entry belong to one database state: a second database on the same
cache, a database emptied by ``flush`` (its new rows draw new stamps) or restored from a
backup (the next change draws a stamp no entry was ever written under) never finds an
entry written for another. ``CACHE_CODE_VERSION`` keeps entries of an older release from
answering a newer one. An entry is written only once the data it was computed from is
committed and the row still carries the stamp it was read with (``_store``). A cache
failure falls back to the database.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from functools import partial

from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import Q

from controlpanel.kit.areas import (
    ACTION_BITS,
    ACTIONS,
    ALL_ACTIONS_MASK,
    actions_of,
    get_area,
    is_area,
)

logger = logging.getLogger(__name__)

# Bump when the cached value's shape or meaning changes, so no release reads another's.
CACHE_CODE_VERSION = 2
CACHE_KEY_FORMAT = "access:{code}:{user_id}:{version}:{stamp}"


def cache_key(user) -> str:
    """The cache key of ``user``'s resolved permissions, from their row as loaded."""
    return CACHE_KEY_FORMAT.format(
        code=CACHE_CODE_VERSION,
        user_id=user.pk,
        version=user.access_version,
        stamp=user.access_stamp,
    )


@dataclass(frozen=True)
class GroupData:
    name: str
    defaults: int


@dataclass(frozen=True)
class RuleData:
    area: str
    actions: int
    effect: str  # "allow" or "deny"
    group: str | None = None  # None for the user's own rule


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reasons: tuple[str, ...]
    # Who decided, each worded the same for every cell it decides (no action named), so
    # a grid can state each source once and let its cells refer to it.
    sources: tuple[str, ...] = ()
    # The sources of grants that a deny overrode (denied cells only).
    overridden: tuple[str, ...] = ()


def _rule_source(rule: RuleData) -> str:
    return f"group '{rule.group}'" if rule.group is not None else "user's own rule"


def _rule_sentence(rule: RuleData) -> str:
    """The whole rule, by the area's label: "Group 'Billing': allow read, update on Billing"."""
    owner = f"Group '{rule.group}'" if rule.group is not None else "The user's own rule"
    actions = ", ".join(actions_of(rule.actions))
    return f"{owner}: {rule.effect} {actions} on {get_area(rule.area).label}"


INACTIVE_SOURCE = "Inactive user: an inactive user can do nothing"
ADMINISTRATOR_SOURCE = "Administrator: every action on every area; rules do not apply"
NO_ACCESS_SOURCE = "No groups and no own rules: a user starts with no permissions"
NOT_GRANTED_SOURCE = "Not granted: no group and no own rule allows this action on this area"


@dataclass
class EffectivePermissions:
    """The answer for one user: ``can(area, action)`` is two dict look-ups and bit tests.

    ``every_area`` holds the actions granted on every area (by groups in defaults mode);
    ``allowed`` and ``denied`` hold per-area masks. The remaining fields only explain; an
    object rebuilt from the cache carries only the masks and ``user_id``, and loads the
    explanation from the database the first time ``explain`` is asked.
    """

    active: bool = True
    administrator: bool = False
    every_area: int = 0
    allowed: dict[str, int] = field(default_factory=dict)
    denied: dict[str, int] = field(default_factory=dict)
    default_sources: tuple[tuple[str, int], ...] = ()
    granular_groups: tuple[str, ...] = ()
    rules: tuple[RuleData, ...] = ()
    has_groups_or_rules: bool = False
    user_id: int | None = None
    explained: bool = True
    _explanation: EffectivePermissions | None = field(default=None, repr=False, compare=False)

    def mask(self, area: str) -> int:
        """The bit mask of actions this user may take on ``area``."""
        if not self.active:
            return 0
        if self.administrator:
            return ALL_ACTIONS_MASK
        return (self.every_area | self.allowed.get(area, 0)) & ~self.denied.get(area, 0)

    def can(self, area: str, action: str) -> bool:
        if not is_area(area):
            return False
        return bool(self.mask(area) & ACTION_BITS[action])

    def actions(self, area: str) -> list[str]:
        return actions_of(self.mask(area)) if is_area(area) else []

    def can_read_any(self, area: str) -> bool:
        return self.can(area, "read")

    def explain(self, area: str, action: str) -> Decision:
        """Whether the action is allowed, and each group, rule or role that decided it."""
        if not self.explained:
            if self._explanation is None:  # loaded once, however many cells are explained
                self._explanation = _load_for_explanation(self.user_id)
            return self._explanation.explain(area, action)
        bit = ACTION_BITS[action]
        label = get_area(area).key
        if not self.active:
            return Decision(
                False, ("inactive user: an inactive user can do nothing",), (INACTIVE_SOURCE,)
            )
        if self.administrator:
            return Decision(
                True,
                ("administrator: every action on every area; rules do not apply",),
                (ADMINISTRATOR_SOURCE,),
            )
        grants, grant_sources = [], []
        for name, mask in self.default_sources:
            if mask & bit:
                grants.append(
                    f"group '{name}' default permissions grant {action} on every area "
                    "(no allow rules)"
                )
                grant_sources.append(
                    f"Group '{name}': default permissions {', '.join(actions_of(mask))} "
                    "on every area (it has no allow rule)"
                )
        denies, deny_sources = [], []
        for rule in self.rules:
            if rule.area != area or not rule.actions & bit:
                continue
            if rule.effect == "allow":
                grants.append(f"{_rule_source(rule)}: allow rule grants {action} on {label}")
                grant_sources.append(_rule_sentence(rule))
            else:
                denies.append(f"{_rule_source(rule)}: deny rule takes away {action} on {label}")
                deny_sources.append(_rule_sentence(rule))
        if denies:
            overridden = [f"overridden by the deny: {g}" for g in grants]
            return Decision(
                False, tuple(denies + overridden), tuple(deny_sources), tuple(grant_sources)
            )
        if grants:
            return Decision(True, tuple(grants), tuple(grant_sources))
        if not self.has_groups_or_rules:
            return Decision(
                False,
                ("no groups and no own rules: a user starts with no permissions",),
                (NO_ACCESS_SOURCE,),
            )
        reasons = [f"no group or rule grants {action} on {label}"]
        sources = [NOT_GRANTED_SOURCE]
        for name in self.granular_groups:
            reasons.append(
                f"group '{name}' is granular: its defaults are ignored, only its allow rules grant"
            )
            sources.append(
                f"Group '{name}' is granular: it has allow rules, so its default permissions "
                "are ignored and only its allow rules grant"
            )
        return Decision(False, tuple(reasons), tuple(sources))

    def cache_value(self) -> tuple:
        """The compact form kept in the cache: only what ``can`` needs."""
        return (
            self.every_area,
            tuple(self.allowed.items()),
            tuple(self.denied.items()),
            self.has_groups_or_rules,
        )

    @classmethod
    def from_cache_value(cls, value: tuple, user_id: int) -> EffectivePermissions:
        every_area, allowed, denied, has_any = value
        return cls(
            every_area=every_area,
            allowed=dict(allowed),
            denied=dict(denied),
            has_groups_or_rules=has_any,
            user_id=user_id,
            explained=False,
        )


def _load_for_explanation(user_id):
    from django.contrib.auth import get_user_model

    return load_from_database(get_user_model().objects.get(pk=user_id))


INACTIVE = EffectivePermissions(active=False)
ADMINISTRATOR = EffectivePermissions(administrator=True)


def is_granular(effects) -> bool:
    """ACCESS_MODEL.md: a group with at least one allow rule is *granular* (its defaults
    are ignored). ``effects``: the effects of the group's rules. The resolver, the group
    pages and the API all ask this one function."""
    return any(effect == "allow" for effect in effects)


def access_of(request) -> EffectivePermissions:
    """The requesting user's effective permissions: the ones the access middleware
    resolved for this request when it did, else resolved now (pages the middleware lets
    through without resolving: public pages, error pages)."""
    access = getattr(request, "access", None)
    return access if access is not None else effective_permissions(request.user)


def resolve(groups: list[GroupData], rules: list[RuleData]) -> EffectivePermissions:
    """Apply ACCESS_MODEL.md's resolution to plain data (a non-administrator, active user).

    ``rules`` holds the rules of every group in ``groups`` (with ``group`` set to its
    name) and the user's own rules (``group`` None).
    """
    # ``group is not None``, not truthiness: a group's name never decides whether its
    # allow rules make it granular (a blank name must not turn its defaults back on).
    granular = {
        rule.group for rule in rules if rule.group is not None and is_granular([rule.effect])
    }
    every_area = 0
    default_sources = []
    for group in groups:
        if group.name not in granular:
            every_area |= group.defaults
            default_sources.append((group.name, group.defaults))
    allowed: dict[str, int] = {}
    denied: dict[str, int] = {}
    for rule in rules:
        target = allowed if rule.effect == "allow" else denied
        target[rule.area] = target.get(rule.area, 0) | rule.actions
    return EffectivePermissions(
        every_area=every_area,
        allowed=allowed,
        denied=denied,
        default_sources=tuple(default_sources),
        granular_groups=tuple(sorted(g for g in granular)),
        rules=tuple(sorted(rules, key=lambda r: (r.area, r.effect, r.group or ""))),
        has_groups_or_rules=bool(groups or rules),
    )


@dataclass
class KnownGroups:
    """Groups already loaded, kept between calls of ``load_inputs`` for many batches in a
    row (the access review): each group's data and rules are read once."""

    groups: dict[int, GroupData] = field(default_factory=dict)
    rules: dict[int, list[RuleData]] = field(default_factory=dict)


def load_inputs(
    user_ids, *, group_ids=None, known: KnownGroups | None = None
) -> dict[int | None, tuple[list[GroupData], list[RuleData]]]:
    """The resolver's input for each of these users (their groups, and the rules of those
    groups plus their own rules), by user id: two queries for any number of users. The
    one loader behind ``load_from_database``, the pages' bulk answers, the access review
    and the what-if grid.

    With ``group_ids``, each user is taken as a member of exactly those groups instead of
    their own (what a change of groups would give; ``selectors.access_data``). A user id
    of None stands for no one: those groups' input alone.

    ``known``, for many batches in a row (the access review): groups already loaded,
    kept between calls; only groups not yet in it are read (one more query when a batch
    meets new ones), so a review of 100,000 users reads each group and its rules once.
    With ``group_ids`` too, the chosen groups in it are not read again (the access page
    has read every group for its what-if choices)."""
    from .models import Group

    ids = list(user_ids)
    memberships = Group.members.through.objects.filter(user_id__in=ids)
    if group_ids is not None:
        wanted = list(group_ids)
        known_groups = known.groups if known is not None else {}
        chosen = [(pk, known_groups[pk]) for pk in wanted if pk in known_groups]
        if unknown := [pk for pk in wanted if pk not in known_groups]:
            chosen += [
                (pk, GroupData(name, defaults))
                for pk, name, defaults in Group.objects.filter(pk__in=unknown).values_list(
                    "id", "name", "defaults"
                )
            ]
        groups_of: dict[int | None, list[tuple[int, GroupData]]] = {pk: chosen for pk in ids}
    elif known is None:
        groups_of = {pk: [] for pk in ids}
        for user_id, group_id, name, defaults in memberships.values_list(
            "user_id", "group_id", "group__name", "group__defaults"
        ):
            groups_of[user_id].append((group_id, GroupData(name, defaults)))
    else:
        rows = list(memberships.values_list("user_id", "group_id"))
        if unknown := {group_id for _, group_id in rows} - known.groups.keys():
            known.groups.update(
                (pk, GroupData(name, defaults))
                for pk, name, defaults in Group.objects.filter(pk__in=unknown).values_list(
                    "id", "name", "defaults"
                )
            )
        groups_of = {pk: [] for pk in ids}
        for user_id, group_id in rows:
            groups_of[user_id].append((group_id, known.groups[group_id]))
    own_of = [pk for pk in ids if pk is not None]
    return _with_rules(groups_of, own_of, {} if known is None else known.rules)


def _with_rules(groups_of, own_of: list[int], group_rules: dict[int, list[RuleData]]):
    """Adds the rules to each user's groups: one query for the rules of every group named
    that ``group_rules`` does not hold yet (added to it) and the users' own rules."""
    from .models import Rule

    names = {pk: group.name for groups in groups_of.values() for pk, group in groups}
    unread = [pk for pk in names if pk not in group_rules]
    for pk in unread:
        group_rules[pk] = []
    own_rules: dict[int, list[RuleData]] = {}
    owner = Q(group_id__in=unread) | Q(user_id__in=own_of)
    rows = Rule.objects.filter(owner) if unread or own_of else Rule.objects.none()
    for group_id, user_id, area, actions, effect in rows.values_list(
        "group_id", "user_id", "area", "actions", "effect"
    ):
        if group_id is not None:
            group_rules[group_id].append(
                RuleData(area=area, actions=actions, effect=effect, group=names[group_id])
            )
        else:
            own_rules.setdefault(user_id, []).append(
                RuleData(area=area, actions=actions, effect=effect)
            )
    return {
        pk: (
            [group for _, group in groups],
            [rule for group_id, _ in groups for rule in group_rules.get(group_id, [])]
            + own_rules.get(pk, []),
        )
        for pk, groups in groups_of.items()
    }


def load_from_database(user) -> EffectivePermissions:
    """Two queries: the user's groups, then their rules and the user's own rules."""
    return resolve(*load_inputs([user.pk])[user.pk])


def role_gate(user) -> EffectivePermissions | None:
    """The answer the user row alone decides (inactive, administrator), else None: rules
    then decide. Every resolution path passes through here first."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return INACTIVE
    if user.is_administrator:
        return ADMINISTRATOR
    return None


def resolve_for(user, groups: list[GroupData], rules: list[RuleData]) -> EffectivePermissions:
    """``resolve`` behind the role gate, for callers that loaded the data in bulk."""
    gate = role_gate(user)
    return gate if gate is not None else resolve(groups, rules)


def _in_application_transaction() -> bool:
    """Whether a transaction opened by the application is in progress (the one a test
    case wraps every test in does not count: it is never committed)."""
    return any(not getattr(block, "_from_testcase", False) for block in connection.atomic_blocks)


def _store(key: str, user_id: int, stamp: str, value: tuple) -> None:
    """Cache ``value`` only if the user's row still carries ``stamp`` now that the data
    is committed: an answer computed from a transaction that rolled back, or read just
    before a concurrent change committed, is never cached."""
    from django.contrib.auth import get_user_model

    if not get_user_model().objects.filter(pk=user_id, access_stamp=stamp).exists():
        return
    try:
        cache.set(key, value, settings.ACCESS_CACHE_TIMEOUT)
    except Exception:
        logger.warning("Permission cache unreachable; result not cached.")


def _store_many(entries: dict[str, tuple[int, str, tuple]]) -> None:
    """``_store`` for many users: one query for their current stamps, one cache write."""
    from django.contrib.auth import get_user_model

    ids = {user_id for user_id, _, _ in entries.values()}
    rows = get_user_model().objects.filter(pk__in=ids).order_by()
    current = dict(rows.values_list("pk", "access_stamp"))
    fresh = {
        key: value
        for key, (user_id, stamp, value) in entries.items()
        if current.get(user_id) == stamp
    }
    try:
        cache.set_many(fresh, settings.ACCESS_CACHE_TIMEOUT)
    except Exception:
        logger.warning("Permission cache unreachable; results not cached.")


def effective_permissions_of(users) -> dict[int, EffectivePermissions]:
    """``effective_permissions`` for many users at once (a page of them), by user id: the
    role gate, then one cache read for all of them; the users it misses are resolved
    together (``load_inputs``: two queries) and stored as ``effective_permissions`` stores
    them (once committed, and only for rows still carrying the stamp they were read with:
    one query for all)."""
    answers: dict[int, EffectivePermissions] = {}
    pending: dict[str, object] = {}
    for user in users:
        gate = role_gate(user)
        if gate is not None:
            answers[user.pk] = gate
        else:
            pending[cache_key(user)] = user
    if not pending:
        return answers
    try:
        cached = cache.get_many(list(pending))
        reachable = True
    except Exception:  # an unreachable cache must never turn into "allow"
        logger.warning("Permission cache unreachable; resolving from the database.")
        cached, reachable = {}, False
    missed = []
    for key, user in pending.items():
        value = cached.get(key)
        if isinstance(value, tuple) and len(value) == 4:
            answers[user.pk] = EffectivePermissions.from_cache_value(value, user.pk)
        else:
            missed.append((key, user))
    if not missed:
        return answers
    inputs = load_inputs(user.pk for _, user in missed)
    entries = {}
    for key, user in missed:
        resolved = resolve(*inputs[user.pk])
        answers[user.pk] = resolved
        entries[key] = (user.pk, user.access_stamp, resolved.cache_value())
    if reachable:
        store = partial(_store_many, entries)
        if _in_application_transaction():
            transaction.on_commit(store)  # discarded if the transaction rolls back
        else:
            store()
    return answers


def effective_permissions(user) -> EffectivePermissions:
    """The user's effective permissions: from the cache when warm, else the database."""
    gate = role_gate(user)
    if gate is not None:
        return gate
    key = cache_key(user)
    try:
        cached = cache.get(key)
    except Exception:  # an unreachable cache must never turn into "allow"
        logger.warning("Permission cache unreachable; resolving from the database.")
        return load_from_database(user)
    if isinstance(cached, tuple) and len(cached) == 4:
        return EffectivePermissions.from_cache_value(cached, user.pk)
    resolved = load_from_database(user)

    store = partial(_store, key, user.pk, user.access_stamp, resolved.cache_value())
    if _in_application_transaction():
        transaction.on_commit(store)  # discarded if the transaction rolls back
    else:
        store()
    return resolved


__all__ = [
    "ACTIONS",
    "Decision",
    "EffectivePermissions",
    "GroupData",
    "RuleData",
    "access_of",
    "cache_key",
    "effective_permissions",
    "effective_permissions_of",
    "is_granular",
    "load_from_database",
    "load_inputs",
    "resolve",
    "resolve_for",
    "role_gate",
]
