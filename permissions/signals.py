"""Keep the permission cache honest: any change that can alter a user's effective
permissions bumps ``access_version`` on the affected users' rows, inside the same
transaction as the change. Bulk writes that skip signals call ``touch_*`` themselves."""

from django.contrib.auth import get_user_model
from django.db.models import F
from django.db.models.signals import m2m_changed, post_delete, post_save, pre_delete
from django.dispatch import receiver

from .models import Group, Rule


def touch_users(user_ids) -> None:
    get_user_model().objects.filter(pk__in=user_ids).update(access_version=F("access_version") + 1)


def touch_group_members(group_ids) -> None:
    get_user_model().objects.filter(access_groups__in=group_ids).update(
        access_version=F("access_version") + 1
    )


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
