"""The recurring access review: every user's role, groups, effective permissions, last
sign-in and the flags a reviewer looks for, computed in bulk; recording a review; and
deactivating the stale users it finds.

The review asks, it never decides: effective permissions come from the one resolver
(``resolve_for`` over ``permissions.resolver.load_inputs``, the resolver's one loader, two
queries per batch of users, so the cost per batch does not depend on how many users there
are; the page's 50 users from its cache, ``effective_permissions_of``), and who a
stale-user deactivation would keep comes from ``permissions.checks`` (the checks
``user_deactivate`` applies: may the actor manage this user, the last active
administrator).
"""

from __future__ import annotations

import datetime
import logging
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

from .checks import actor_context, ensure_not_last_administrator, may_manage_users
from .models import AccessReview, Group
from .resolver import (
    EffectivePermissions,
    KnownGroups,
    effective_permissions_of,
    load_inputs,
    resolve_for,
)
from .review_cache import keep_counts, read_counts

logger = logging.getLogger(__name__)

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
SIGNED_IN_SINCE = "kept: signed in since the review"


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


def summarize(
    users: Iterable[User],
    *,
    cutoff: datetime.datetime,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
) -> Iterator[UserReview]:
    """One ``UserReview`` per user, ``chunk_size`` users at a time: each batch costs the two
    queries of the resolver's loader (``load_inputs``: memberships with their groups, then
    the users' own rules and the rules of groups no earlier batch met; one more when a
    batch meets new groups), whatever its size. Effective
    permissions come from the resolver (``resolve_for``: the role gate, then ``resolve``)."""
    known = KnownGroups()  # each group and its rules, read once for the whole review
    for batch in _batches(users, chunk_size):
        inputs = load_inputs((user.pk for user in batch), known=known)
        for user in batch:
            groups, rules = inputs[user.pk]
            names = sorted((group.name for group in groups), key=str.lower)
            yield UserReview(
                user=user,
                groups=names,
                access=resolve_for(user, groups, rules),
                flags=flags_of(user, cutoff),
            )


def group_names_of(user_ids: Iterable[int]) -> dict[int, list[str]]:
    """Each user's group names, sorted as the review shows them: one query."""
    names: dict[int, list[str]] = {}
    memberships = Group.members.through.objects.filter(user_id__in=list(user_ids))
    for user_id, name in memberships.values_list("user_id", "group__name"):
        names.setdefault(user_id, []).append(name)
    return {pk: sorted(found, key=str.lower) for pk, found in names.items()}


def summarize_page(users: Iterable[User], *, cutoff: datetime.datetime) -> list[UserReview]:
    """``summarize`` for one page of users (the review page's 50): their effective
    permissions are the resolver's own answers from its cache
    (``resolver.effective_permissions_of``: one cache read; the users it misses are
    resolved together and cached, as a sign-in would), and their group names come from
    one query. A warm page costs one query and one cache read, whatever the groups and
    rules; ``summarize`` reads and resolves every rule of every group met."""
    users = list(users)
    access = effective_permissions_of(users)
    names = group_names_of(user.pk for user in users)
    return [
        UserReview(
            user=user,
            groups=names.get(user.pk, []),
            access=access[user.pk],
            flags=flags_of(user, cutoff),
        )
        for user in users
    ]


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
    yield from summarize(streamed, cutoff=cutoff, chunk_size=chunk_size)


def review_counts(users: QuerySet[User], *, cutoff: datetime.datetime) -> dict[str, int]:
    """The review's totals, in one query."""
    return users.aggregate(
        users_count=Count("pk"),
        stale_count=Count("pk", filter=stale_q(cutoff)),
        never_logged_in_count=Count("pk", filter=Q(last_login__isnull=True)),
        administrators_count=Count("pk", filter=Q(role=Role.ADMINISTRATOR)),
        no_whitelist_count=Count("pk", filter=Q(ip_whitelist=[])),
    )


# --- The review page's totals, cached -------------------------------------------------------
#
# Counting reads every user (most users match most flags, and the stale count moves with
# the clock: an index would make the reading cheaper, never flat): 55 ms at 100,000 users,
# more than the rest of the page. The page shows totals kept for ``COUNTS_KEPT_FOR`` and
# says as of when. Every write that can change a total (a user added, deleted or saved: a
# sign-in, unless the previous one was less than a day before; a deactivation; a role,
# whitelist or reseller change; the bulk writes call ``forget_counts`` themselves) starts a
# new generation once it commits (``permissions.review_cache``, ``permissions.signals``), so
# the next page counts again. Recording a review always counts afresh.

COUNTS_KEPT_FOR = datetime.timedelta(minutes=5)


@dataclass(frozen=True)
class Totals:
    counts: dict[str, int]
    as_of: datetime.datetime  # the counts are true as of this time
    kept: bool  # served from the cache


def review_totals(actor, *, stale_days: int, recount: bool = False) -> Totals:
    """The totals of the review ``actor`` sees (``review_counts`` over
    ``users_to_review(actor)``): kept ``COUNTS_KEPT_FOR`` in the cache, per reseller scope
    and threshold, and forgotten by every write that can change them (``forget_counts``).
    ``recount``: count now whatever the cache holds. An unreachable cache counts now."""
    try:
        slot, kept = read_counts(actor, stale_days)
    except Exception:
        logger.warning("Cache unreachable; counting the access review's totals now.")
        slot = kept = None
    if not recount and isinstance(kept, tuple) and len(kept) == 2:
        return Totals(counts=kept[0], as_of=kept[1], kept=True)
    as_of = timezone.now()
    counts = review_counts(users_to_review(actor), cutoff=stale_cutoff(stale_days, as_of))
    if slot is not None:
        try:
            keep_counts(slot, (counts, as_of), COUNTS_KEPT_FOR.total_seconds())
        except Exception:
            logger.warning("Cache unreachable; the access review's totals were not kept.")
    return Totals(counts=counts, as_of=as_of, kept=False)


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
    """Who a stale-user deactivation would deactivate, and who it would keep and why, by
    the checks ``user_deactivate`` applies (``permissions.checks``): whether the actor may
    manage each user, and the last active administrator, applied in order.

    Oldest sign-in first, so when every administrator is stale the one who signed in most
    recently is the one kept."""
    candidates = list(users_to_review(actor).filter(stale_q(cutoff)).order_by("pk"))
    candidates.sort(key=lambda u: (u.last_login is not None, u.last_login or u.created_at))
    if actor is not None:
        candidates = [user for user in candidates if user.pk != actor.pk]
    answers = may_manage_users(actor, candidates)
    active_admins = set(
        User.objects.filter(role=Role.ADMINISTRATOR, is_active=True).values_list("pk", flat=True)
    )
    plan = DeactivationPlan([], [])
    for user in candidates:
        if not (answer := answers[user.pk]):
            plan.kept.append((user, f"kept: {answer.reason}"))
            continue
        try:
            ensure_not_last_administrator(user, active_admins)
        except ValidationError:
            plan.kept.append((user, LAST_ADMINISTRATOR_KEPT))
            continue
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
    if actor is not None:
        actor_context(actor).require("user", "update")
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
