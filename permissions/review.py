"""The recurring access review: every user's role, groups, effective permissions, last
sign-in and the flags a reviewer looks for, computed in bulk; recording a review; and
deactivating the stale users it finds.

Effective permissions come from the one resolver's pure ``resolve(groups, rules)``: the
groups and rules of a whole batch of users are loaded in a constant number of queries
(every group's rules once, then per batch the users, their memberships and their own
rules), so the cost per batch does not depend on how many users there are.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import cached_property
from itertools import islice

from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from accounts.models import Role, User
from controlpanel.audit import log as audit
from controlpanel.kit.areas import ALL_ACTIONS_MASK, actions_of, all_areas
from permissions.user_services import user_deactivate
from resellers.selectors import scoped

from .models import AccessReview, Group, Rule
from .resolver import (
    EffectivePermissions,
    GroupData,
    RuleData,
    effective_permissions,
    resolve_for,
)

DEFAULT_STALE_DAYS = 90
MAX_STALE_DAYS = 3650
DEFAULT_CHUNK_SIZE = 1000

NEVER_LOGGED_IN = "never logged in"
STALE = "stale"
ADMINISTRATOR_FLAG = "administrator"
UNVERIFIED = "unverified"
NO_WHITELIST = "no whitelist"
INACTIVE_FLAG = "inactive"
# The order flags are shown in.
FLAGS = (STALE, NEVER_LOGGED_IN, ADMINISTRATOR_FLAG, UNVERIFIED, NO_WHITELIST, INACTIVE_FLAG)

LAST_ADMINISTRATOR_KEPT = "kept: the last active administrator"
NOT_AN_ADMINISTRATOR = "kept: only an administrator may deactivate an administrator"
SIGNED_IN_SINCE = "kept: signed in since the review"
CANNOT_UPDATE_USERS = "You do not have permission to update in Users."


def stale_cutoff(stale_days: int, now: datetime.datetime | None = None) -> datetime.datetime:
    return (now or timezone.now()) - datetime.timedelta(days=stale_days)


def stale_q(cutoff: datetime.datetime) -> Q:
    """An active user who has not signed in since ``cutoff`` (or never has, and was
    created before it). The database form of ``is_stale``."""
    return Q(is_active=True) & (
        Q(last_login__lt=cutoff) | Q(last_login__isnull=True, created_at__lt=cutoff)
    )


def is_stale(user: User, cutoff: datetime.datetime) -> bool:
    if not user.is_active:
        return False
    if user.last_login is not None:
        return user.last_login < cutoff
    return user.created_at < cutoff


def users_to_review(actor) -> QuerySet[User]:
    """The users a reviewer sees: all of them for a command (``actor`` None); a reseller's
    users only for a reviewer linked to a reseller (the one row-scoping selector)."""
    users = User.objects.all()
    return users if actor is None else scoped(users, actor)


def with_review_data(users: QuerySet[User]) -> QuerySet[User]:
    """``users`` with the reseller joined in (``summarize`` loads groups and rules)."""
    return users.select_related("reseller")


@dataclass(frozen=True)
class GroupDirectory:
    """Groups and their rules, loaded in two queries: every group for a whole review, or
    only the groups one page of users belongs to."""

    groups: dict[int, GroupData]
    rules: dict[int, tuple[RuleData, ...]]

    @classmethod
    def load(cls, group_ids=None) -> GroupDirectory:
        group_rows = Group.objects.all()
        rule_rows = Rule.objects.filter(group__isnull=False)
        if group_ids is not None:
            group_rows = group_rows.filter(pk__in=group_ids)
            rule_rows = rule_rows.filter(group_id__in=group_ids)
        groups = {
            pk: GroupData(name, defaults)
            for pk, name, defaults in group_rows.values_list("id", "name", "defaults")
        }
        rules: dict[int, list[RuleData]] = defaultdict(list)
        for group_id, area, actions, effect in rule_rows.values_list(
            "group_id", "area", "actions", "effect"
        ):
            if group_id in groups:
                rules[group_id].append(RuleData(area, actions, effect, group=groups[group_id].name))
        return cls(groups, {pk: tuple(group_rules) for pk, group_rules in rules.items()})


# "CRUD"-style initials for every possible mask, worked out once.
_LETTERS = {
    mask: "".join(action[0].upper() for action in actions_of(mask)) or "-"
    for mask in range(ALL_ACTIONS_MASK + 1)
}


def letters(access: EffectivePermissions, area_key: str) -> str:
    """``"CRUD"``, ``"R"``, ``"-"``: the actions granted on one area, by initial."""
    return _LETTERS[access.mask(area_key)]


@dataclass
class UserReview:
    user: User
    groups: list[str]
    access: EffectivePermissions
    flags: list[str] = field(default_factory=list)

    @cached_property
    def area_letters(self) -> dict[str, str]:
        return {area.key: letters(self.access, area.key) for area in all_areas()}

    @property
    def access_summary(self) -> str:
        """One line: ``all areas: CRUD``, or each area with any access, or ``none``."""
        per_area = self.area_letters
        distinct = set(per_area.values())
        if len(distinct) == 1:
            only = distinct.pop()
            return "none" if only == "-" else f"all areas: {only}"
        return " ".join(f"{key}:{value}" for key, value in per_area.items() if value != "-")


def flags_of(user: User, cutoff: datetime.datetime) -> list[str]:
    flags = []
    if is_stale(user, cutoff):
        flags.append(STALE)
    if user.last_login is None:
        flags.append(NEVER_LOGGED_IN)
    if user.is_administrator:
        flags.append(ADMINISTRATOR_FLAG)
    # Shown only when the User model tracks verification at all.
    if getattr(user, "is_verified", None) is False:
        flags.append(UNVERIFIED)
    if not user.ip_whitelist:
        flags.append(NO_WHITELIST)
    if not user.is_active:
        flags.append(INACTIVE_FLAG)
    return flags


def _batches(items: Iterable, size: int) -> Iterator[list]:
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch


def _access_of(user: User, group_ids, own_rules, directory: GroupDirectory):
    groups = sorted(
        (directory.groups[pk] for pk in group_ids if pk in directory.groups),
        key=lambda group: group.name.lower(),
    )
    names = [group.name for group in groups]
    rules = [rule for pk in group_ids for rule in directory.rules.get(pk, ())]
    return names, resolve_for(user, groups, rules + own_rules)


def summarize(
    users: Iterable[User],
    *,
    cutoff: datetime.datetime,
    directory: GroupDirectory | None = None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
) -> Iterator[UserReview]:
    """One ``UserReview`` per user, ``chunk_size`` users at a time: each batch costs two
    queries (its memberships, its users' own rules) whatever its size, plus two for the
    batch's groups unless a ``directory`` of every group is given (a whole review loads
    it once; a page of users loads only its own groups). Effective permissions come from
    the pure resolver."""
    memberships = Group.members.through.objects
    for batch in _batches(users, chunk_size):
        ids = [user.pk for user in batch]
        group_ids: dict[int, list[int]] = defaultdict(list)
        for user_id, group_id in memberships.filter(user_id__in=ids).values_list(
            "user_id", "group_id"
        ):
            group_ids[user_id].append(group_id)
        batch_directory = directory or GroupDirectory.load(
            {pk for pks in group_ids.values() for pk in pks}
        )
        own_rules: dict[int, list[RuleData]] = defaultdict(list)
        for user_id, area, actions, effect in Rule.objects.filter(user_id__in=ids).values_list(
            "user_id", "area", "actions", "effect"
        ):
            own_rules[user_id].append(RuleData(area, actions, effect, group=None))
        for user in batch:
            names, access = _access_of(
                user, group_ids.get(user.pk, ()), own_rules.get(user.pk, []), batch_directory
            )
            yield UserReview(user=user, groups=names, access=access, flags=flags_of(user, cutoff))


def review_rows(
    users: QuerySet[User],
    *,
    stale_days: int = DEFAULT_STALE_DAYS,
    now: datetime.datetime | None = None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
) -> Iterator[UserReview]:
    """Stream every user of ``users`` by e-mail, ``chunk_size`` at a time: memory stays
    flat and each batch costs a constant number of queries."""
    cutoff = stale_cutoff(stale_days, now)
    streamed = with_review_data(users.order_by("email")).iterator(chunk_size=chunk_size)
    yield from summarize(
        streamed, cutoff=cutoff, chunk_size=chunk_size, directory=GroupDirectory.load()
    )


def review_counts(users: QuerySet[User], *, cutoff: datetime.datetime) -> dict[str, int]:
    """The review's totals, in one query."""
    return users.aggregate(
        users_count=Count("pk"),
        stale_count=Count("pk", filter=stale_q(cutoff)),
        never_logged_in_count=Count("pk", filter=Q(last_login__isnull=True)),
        administrators_count=Count("pk", filter=Q(role=Role.ADMINISTRATOR)),
        no_whitelist_count=Count("pk", filter=Q(ip_whitelist=[])),
    )


FLAG_FILTERS = {
    STALE: lambda cutoff: stale_q(cutoff),
    NEVER_LOGGED_IN: lambda cutoff: Q(last_login__isnull=True),
    ADMINISTRATOR_FLAG: lambda cutoff: Q(role=Role.ADMINISTRATOR),
    NO_WHITELIST: lambda cutoff: Q(ip_whitelist=[]),
    INACTIVE_FLAG: lambda cutoff: Q(is_active=False),
}


def with_flag(users: QuerySet[User], flag: str, cutoff: datetime.datetime) -> QuerySet[User]:
    """Only the users carrying ``flag`` (one of ``FLAG_FILTERS``)."""
    return users.filter(FLAG_FILTERS[flag](cutoff))


# --- The review schedule's cached due date (permissions.review_schedule) ----------------


def due_cache_key() -> str:
    settings_dict = connection.settings_dict
    return f"review-due:{settings_dict.get('HOST') or ''}:{settings_dict['NAME']}"


def forget_due() -> None:
    """Called by every write that moves the due date (now, and again at commit)."""
    cache.delete(due_cache_key())
    transaction.on_commit(lambda: cache.delete(due_cache_key()))


# --- Writes ------------------------------------------------------------------------------


@transaction.atomic
def access_review_record(
    *,
    stale_days: int,
    counts: dict[str, int],
    reviewer=None,
    reviewer_label: str = "",
    source: str = "panel",
    deactivated_count: int = 0,
    address: str | None = None,
) -> AccessReview:
    """Record that a review took place: who, when, with which threshold, what it found."""
    if reviewer is not None and not getattr(reviewer, "is_authenticated", False):
        reviewer = None
    label = reviewer_label or (reviewer.email if reviewer is not None else "system")
    review = AccessReview(
        reviewer=reviewer,
        reviewer_label=label[:254],
        source=source,
        stale_days=stale_days,
        reseller_id=getattr(reviewer, "reseller_id", None),
        deactivated_count=deactivated_count,
        **{key: counts.get(key, 0) for key in _COUNT_FIELDS},
    )
    review.full_clean()
    review.save()
    if review.reseller_id is None:  # a whole-panel review resets the schedule's clock
        forget_due()
    audit.record(
        audit.Action.REVIEW,
        actor=reviewer,
        actor_label=reviewer_label,
        address=address,
        obj=review,
        message=(
            f"Access review of {review.users_count} users (stale after {stale_days} days): "
            f"{review.stale_count} stale, {review.never_logged_in_count} never logged in, "
            f"{review.administrators_count} administrators, "
            f"{review.no_whitelist_count} without a whitelist, "
            f"{deactivated_count} deactivated."
        ),
    )
    return review


_COUNT_FIELDS = (
    "users_count",
    "stale_count",
    "never_logged_in_count",
    "administrators_count",
    "no_whitelist_count",
)


@dataclass
class DeactivationPlan:
    deactivate: list[User]
    kept: list[tuple[User, str]]


def plan_stale_deactivation(actor, *, cutoff: datetime.datetime) -> DeactivationPlan:
    """Who a stale-user deactivation would deactivate, and who it would keep and why.

    Oldest sign-in first, so when every administrator is stale the one who signed in most
    recently is the one kept."""
    candidates = list(users_to_review(actor).filter(stale_q(cutoff)).order_by("pk"))
    candidates.sort(key=lambda u: (u.last_login is not None, u.last_login or u.created_at))
    plan = DeactivationPlan([], [])
    actor_is_admin = actor is None or actor.is_administrator
    active_admins = set(
        User.objects.filter(role=Role.ADMINISTRATOR, is_active=True).values_list("pk", flat=True)
    )
    for user in candidates:
        if actor is not None and user.pk == actor.pk:
            continue
        if user.is_administrator and not actor_is_admin:
            plan.kept.append((user, NOT_AN_ADMINISTRATOR))
        elif user.is_administrator and active_admins == {user.pk}:
            plan.kept.append((user, LAST_ADMINISTRATOR_KEPT))
        else:
            active_admins.discard(user.pk)
            plan.deactivate.append(user)
    return plan


@dataclass
class DeactivationResult:
    deactivated: list[User]
    kept: list[tuple[User, str]]


def access_review_deactivate_stale(
    *,
    stale_days: int,
    as_of: datetime.datetime | None = None,
    actor=None,
    address: str | None = None,
) -> DeactivationResult:
    """Deactivate every user stale at ``as_of`` (now by default) through
    ``accounts.services.user_deactivate``, which ends their sessions, audits each one and
    refuses what the actor may not do (the last active administrator, administrators for
    a non-administrator, users outside their reseller). Refusals are reported, not raised.

    Not one transaction: each deactivation commits on its own, so one refusal does not
    undo the others."""
    if actor is not None and not effective_permissions(actor).can("user", "update"):
        raise PermissionDenied(CANNOT_UPDATE_USERS)
    cutoff = stale_cutoff(stale_days, as_of)
    plan = plan_stale_deactivation(actor, cutoff=cutoff)
    result = DeactivationResult([], list(plan.kept))
    for user in plan.deactivate:
        try:
            with transaction.atomic():
                still_stale = (
                    User.objects.select_for_update().filter(stale_q(cutoff), pk=user.pk).exists()
                )
                if not still_stale:
                    result.kept.append((user, SIGNED_IN_SINCE))
                    continue
                user_deactivate(user=user, actor=actor, address=address)
        except (PermissionDenied, ValidationError) as refusal:
            result.kept.append((user, f"kept: {_message_of(refusal)}"))
        else:
            user.is_active = False
            result.deactivated.append(user)
    return result


def _message_of(error: Exception) -> str:
    if isinstance(error, ValidationError):
        return " ".join(error.messages)
    return str(error)
