"""The recurring access review: an administrator sets a cadence on the access review page;
a review is *due* once the cadence has passed since the last whole-panel review (or,
before the first one, since the cadence was set); recording a review resets the clock.

While a review is due, ``remind_if_due`` (run by ``manage.py access_review_remind`` from
cron, see docs/deployment.md) e-mails the administrators and everyone who may read users
one reminder per cadence, each with the figures of the review they would see (their own
row scope), through the outbox. The navigation shows "Review due" meanwhile.
"""

from __future__ import annotations

import contextlib
import datetime
from dataclasses import dataclass

from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Subquery
from django.utils import timezone

from accounts.models import User
from controlpanel.audit import log as audit
from controlpanel.kit.links import absolute_reverse
from controlpanel.outbox import services as outbox

from . import review
from .models import AccessReview, ReviewSchedule
from .resolver import effective_permissions

REMINDER_LABEL = "access review reminder"
RESELLER_CANNOT_SCHEDULE = (
    "The review schedule covers every user of the panel; a reseller's user reviews only "
    "their own users and cannot set it."
)
BAD_CADENCE = "Give a number of days from 1 to 3650, or leave it empty for no reminders."


def current() -> ReviewSchedule:
    return ReviewSchedule.objects.filter(pk=1).first() or ReviewSchedule(pk=1)


def last_review_at() -> datetime.datetime | None:
    """When the whole panel was last reviewed (a reseller's review covers only theirs)."""
    return (
        AccessReview.objects.filter(reseller__isnull=True)
        .order_by("-at")
        .values_list("at", flat=True)
        .first()
    )


@dataclass(frozen=True)
class ReviewStatus:
    cadence_days: int | None
    last_review_at: datetime.datetime | None
    due_at: datetime.datetime | None
    due: bool


def status(now: datetime.datetime | None = None) -> ReviewStatus:
    """Whether a review is due, in one query (the navigation asks on every page)."""
    now = now or timezone.now()
    last_whole = AccessReview.objects.filter(reseller__isnull=True).order_by("-at").values("at")[:1]
    schedule = ReviewSchedule.objects.filter(pk=1).annotate(last=Subquery(last_whole)).first()
    if schedule is None or not schedule.cadence_days:
        return ReviewStatus(None, None if schedule is None else schedule.last, None, False)
    last = schedule.last
    base = max(last, schedule.set_at) if last else schedule.set_at
    due_at = base + datetime.timedelta(days=schedule.cadence_days)
    return ReviewStatus(schedule.cadence_days, last, due_at, now >= due_at)


# The navigation asks on every page; it reads when the review falls due from the cache
# (keyed by database, so a cache shared by two databases never answers for the other),
# compares it with the clock itself, and the writes that move it forget the entry.
DUE_CACHE_SECONDS = 300
_NOT_SCHEDULED = "-"


def review_due_now() -> bool:
    """For the navigation's "Review due": no query while the cache is warm."""
    key = review.due_cache_key()
    try:
        due_at = cache.get(key)
    except Exception:  # a cache outage: ask the database
        due_at = None
    if due_at is None:
        state = status()
        due_at = state.due_at.isoformat() if state.due_at else _NOT_SCHEDULED
        with contextlib.suppress(Exception):
            cache.set(key, due_at, DUE_CACHE_SECONDS)
    if due_at == _NOT_SCHEDULED:
        return False
    return timezone.now() >= datetime.datetime.fromisoformat(due_at)


@transaction.atomic
def review_schedule_set(*, cadence_days: int | None, actor, address: str | None) -> ReviewSchedule:
    """Set (or clear) the cadence; the clock starts now. Audited."""
    if getattr(actor, "reseller_id", None) is not None:
        raise PermissionDenied(RESELLER_CANNOT_SCHEDULE)
    if cadence_days is not None and not 1 <= cadence_days <= 3650:
        raise ValidationError({"cadence_days": BAD_CADENCE})
    schedule = ReviewSchedule.objects.select_for_update().filter(pk=1).first() or ReviewSchedule(
        pk=1
    )
    before = schedule.cadence_days
    schedule.cadence_days = cadence_days
    schedule.set_at = timezone.now()
    schedule.set_by_label = getattr(actor, "email", "")[:254]
    schedule.last_reminded_at = None
    schedule.full_clean()
    schedule.save()
    review.forget_due()
    audit.record(
        audit.Action.REVIEW_SCHEDULE,
        actor=actor,
        address=address,
        object_type="review schedule",
        object_id="1",
        message=(
            f"Access review every {cadence_days} days."
            if cadence_days
            else "Access review reminders turned off."
        ),
        changes={"cadence_days": [before, cadence_days]},
    )
    return schedule


def may_be_reminded(user: User) -> bool:
    if not (user.is_active and user.is_verified):
        return False
    return user.is_administrator or effective_permissions(user).can("user", "read")


def _figures(user: User, stale_days: int) -> dict:
    users = review.users_to_review(user)
    counts = review.review_counts(users, cutoff=review.stale_cutoff(stale_days))
    counts["no_groups_count"] = users.filter(access_groups=None).count()
    return counts


def remind_if_due(now: datetime.datetime | None = None) -> int:
    """Send this cadence's reminder if a review is due and none was sent for it yet;
    returns how many people were reminded."""
    now = now or timezone.now()
    with transaction.atomic():
        schedule = ReviewSchedule.objects.select_for_update().filter(pk=1).first()
        state = status(now)
        if schedule is None or not state.due:
            return 0
        cadence = datetime.timedelta(days=schedule.cadence_days)
        reminded = schedule.last_reminded_at
        if reminded is not None and reminded >= state.due_at and now - reminded < cadence:
            return 0  # this cadence's reminder has gone
        stale_days = review.DEFAULT_STALE_DAYS
        recipients = [
            user
            for user in User.objects.filter(is_active=True, email_verified_at__isnull=False)
            .select_related("reseller")
            .order_by("email")
            if may_be_reminded(user)
        ]
        link = absolute_reverse("access-review")
        for user in recipients:
            outbox.queue_template(
                "review_reminder",
                user.email,
                {
                    "user": user,
                    "status": state,
                    "stale_days": stale_days,
                    "counts": _figures(user, stale_days),
                    "link": link,
                },
                reseller_id=user.reseller_id,
            )
        schedule.last_reminded_at = now
        schedule.save(update_fields=["last_reminded_at"])
        audit.record(
            audit.Action.REVIEW_REMINDER,
            actor_label=REMINDER_LABEL,
            object_type="review schedule",
            object_id="1",
            message=f"Access review due since {state.due_at:%Y-%m-%d}: reminded "
            f"{len(recipients)} user(s).",
        )
    return len(recipients)
