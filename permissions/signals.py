"""Keep the permission cache honest: any change that can alter a user's effective
permissions bumps ``access_version`` and replaces ``access_stamp`` with a new random token
on the affected users' rows, inside the same transaction as the change. Bulk writes that
skip signals bump through the guarded querysets (``permissions.models``) or call
``touch_*`` themselves."""

import datetime

from django.contrib.auth import get_user_model
from django.db.models import F
from django.db.models.signals import m2m_changed, post_delete, post_save, pre_delete, pre_save
from django.dispatch import receiver
from django.utils import timezone

from accounts.models import new_access_stamp

from .models import Group, Rule
from .review_cache import forget_counts


def _bump() -> dict:
    # One new stamp per statement is enough: the cache key also carries the user id.
    return {"access_version": F("access_version") + 1, "access_stamp": new_access_stamp()}


def touch_users(user_ids) -> None:
    get_user_model().objects.filter(pk__in=user_ids).update(**_bump())


def touch_group_members(group_ids) -> None:
    get_user_model().objects.filter(access_groups__in=group_ids).update(**_bump())


@receiver(post_save, sender=Group)
def _group_saved(sender, instance, created, **kwargs):
    if not created:
        touch_group_members([instance.pk])


@receiver(pre_delete, sender=Group)
def _group_deleted(sender, instance, **kwargs):
    touch_group_members([instance.pk])


@receiver(post_save, sender=Rule)
@receiver(post_delete, sender=Rule)
def _rule_changed(sender, instance, **kwargs):
    if instance.group_id:
        touch_group_members([instance.group_id])
    if instance.user_id:
        touch_users([instance.user_id])


@receiver(m2m_changed, sender=Group.members.through)
def _membership_changed(sender, instance, action, reverse, pk_set, **kwargs):
    # reverse=False: instance is a Group and pk_set holds user ids; reverse=True: instance
    # is a user and pk_set holds group ids.
    if action in ("post_add", "post_remove"):
        touch_users(pk_set if not reverse else [instance.pk])
    elif action == "pre_clear":
        if reverse:
            touch_users([instance.pk])
        else:
            touch_group_members([instance.pk])


# --- The access review's cached totals (``permissions.review``) --------------------------

# The user fields the review's totals count by. A save naming none of them (a password,
# a name, a session or access version) leaves the totals as they were.
_COUNTED_FIELDS = frozenset(
    {"last_login", "role", "is_active", "ip_whitelist", "reseller", "reseller_id", "created_at"}
)
# The shortest stale threshold the page accepts. A user who had signed in within it was
# counted as neither stale nor never signed in under every threshold, and signing in again
# keeps them so: that sign-in leaves every total as it was (most sign-ins, on a busy panel).
SIGN_IN_KEEPS_TOTALS_WITHIN = datetime.timedelta(days=1)


@receiver(pre_save, sender=get_user_model())
def _user_signing_in(sender, instance, update_fields=None, **kwargs):
    """A sign-in saves ``last_login`` alone: note whether the previous one was recent."""
    instance._review_totals_unchanged = False
    if update_fields is None or set(update_fields) != {"last_login"} or instance.pk is None:
        return
    rows = get_user_model().objects.filter(pk=instance.pk)
    previous = rows.values_list("last_login", flat=True).first()
    instance._review_totals_unchanged = (
        previous is not None
        and instance.last_login is not None
        and instance.last_login >= previous >= timezone.now() - SIGN_IN_KEEPS_TOTALS_WITHIN
    )


@receiver(post_save, sender=get_user_model())
def _user_saved(sender, instance, created, update_fields=None, **kwargs):
    if getattr(instance, "_review_totals_unchanged", False):
        return
    if created or update_fields is None or _COUNTED_FIELDS & set(update_fields):
        forget_counts()


@receiver(post_delete, sender=get_user_model())
def _user_deleted(sender, instance, **kwargs):
    forget_counts()
