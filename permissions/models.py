from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models, transaction
from django.db.models import Q
from django.db.models.functions import Length, Lower, Trim
from django.db.models.lookups import GreaterThan
from django.utils import timezone

from controlpanel.kit.areas import ALL_ACTIONS_MASK, actions_of, get_area, is_area


class Effect(models.TextChoices):
    ALLOW = "allow", "Allow"
    DENY = "deny", "Deny"


# --- Bulk writes bump the access version too -------------------------------------------
# Signals cover ``save``, ``delete`` and the related managers; ``QuerySet.update`` and
# ``bulk_create``/``bulk_update`` send none. These querysets bump the affected users'
# access version (and stamp) themselves, in the same transaction as the write, so no bulk
# path, the project's own (permissions.transfer) or a future one, leaves a stale
# permission answer in the cache. (AuditEntryQuerySet below guards writes the same way.)


def _touch(*, group_ids=(), user_ids=()) -> None:
    from .signals import touch_group_members, touch_users

    group_ids = {pk for pk in group_ids if pk is not None}
    user_ids = {pk for pk in user_ids if pk is not None}
    if group_ids:
        touch_group_members(sorted(group_ids))
    if user_ids:
        touch_users(sorted(user_ids))


def _changes_owner(fields, owner_fields) -> bool:
    return bool(set(fields) & owner_fields)


class GroupQuerySet(models.QuerySet):
    def update(self, **kwargs):
        with transaction.atomic(using=self.db, savepoint=False):
            pks = list(self.values_list("pk", flat=True))
            count = super().update(**kwargs)
            _touch(group_ids=pks)
        return count

    update.alters_data = True

    def bulk_update(self, objs, fields, batch_size=None):
        objs = list(objs)
        with transaction.atomic(using=self.db, savepoint=False):
            count = super().bulk_update(objs, fields, batch_size=batch_size)
            _touch(group_ids=[obj.pk for obj in objs])
        return count

    bulk_update.alters_data = True
    # bulk_create needs no guard: a new group has no members yet.


_RULE_OWNER_FIELDS = frozenset({"group", "group_id", "user", "user_id"})


class RuleQuerySet(models.QuerySet):
    def _owners(self, pks) -> tuple[list, list]:
        rows = list(
            self.model._base_manager.using(self.db)
            .filter(pk__in=pks)
            .values_list("group_id", "user_id")
        )
        return [group for group, _ in rows], [user for _, user in rows]

    def update(self, **kwargs):
        with transaction.atomic(using=self.db, savepoint=False):
            rows = list(self.values_list("pk", "group_id", "user_id"))
            count = super().update(**kwargs)
            groups = [group for _, group, _ in rows]
            users = [user for _, _, user in rows]
            if _changes_owner(kwargs, _RULE_OWNER_FIELDS):
                new_groups, new_users = self._owners([pk for pk, _, _ in rows])
                groups, users = groups + new_groups, users + new_users
            _touch(group_ids=groups, user_ids=users)
        return count

    update.alters_data = True

    def bulk_create(self, objs, *args, **kwargs):
        objs = list(objs)
        with transaction.atomic(using=self.db, savepoint=False):
            created = super().bulk_create(objs, *args, **kwargs)
            _touch(group_ids=[obj.group_id for obj in objs], user_ids=[obj.user_id for obj in objs])
        return created

    bulk_create.alters_data = True

    def bulk_update(self, objs, fields, batch_size=None):
        objs = list(objs)
        pks = [obj.pk for obj in objs]
        with transaction.atomic(using=self.db, savepoint=False):
            groups, users = self._owners(pks)
            count = super().bulk_update(objs, fields, batch_size=batch_size)
            if _changes_owner(fields, _RULE_OWNER_FIELDS):
                new_groups, new_users = self._owners(pks)
                groups, users = groups + new_groups, users + new_users
            _touch(group_ids=groups, user_ids=users)
        return count

    bulk_update.alters_data = True


_MEMBERSHIP_OWNER_FIELDS = frozenset({"group", "group_id", "user", "user_id"})


class MembershipQuerySet(models.QuerySet):
    """Installed on the auto-created ``Group.members.through`` model by
    ``PermissionsConfig.ready``: the related managers (``add``, ``remove``, ``clear``,
    ``set``) write through it too, so every membership write bumps its user."""

    def _users(self, pks) -> list:
        return list(
            self.model._base_manager.using(self.db)
            .filter(pk__in=pks)
            .values_list("user_id", flat=True)
        )

    def update(self, **kwargs):
        with transaction.atomic(using=self.db, savepoint=False):
            rows = list(self.values_list("pk", "user_id"))
            count = super().update(**kwargs)
            users = [user for _, user in rows]
            if _changes_owner(kwargs, _MEMBERSHIP_OWNER_FIELDS):
                users += self._users([pk for pk, _ in rows])
            _touch(user_ids=users)
        return count

    update.alters_data = True

    def delete(self):
        with transaction.atomic(using=self.db, savepoint=False):
            users = list(self.values_list("user_id", flat=True))
            result = super().delete()
            _touch(user_ids=users)
        return result

    delete.alters_data = True
    delete.queryset_only = True

    def bulk_create(self, objs, *args, **kwargs):
        objs = list(objs)
        with transaction.atomic(using=self.db, savepoint=False):
            created = super().bulk_create(objs, *args, **kwargs)
            _touch(user_ids=[obj.user_id for obj in objs])
        return created

    bulk_create.alters_data = True

    def bulk_update(self, objs, fields, batch_size=None):
        objs = list(objs)
        pks = [obj.pk for obj in objs]
        with transaction.atomic(using=self.db, savepoint=False):
            users = self._users(pks)
            count = super().bulk_update(objs, fields, batch_size=batch_size)
            if _changes_owner(fields, _MEMBERSHIP_OWNER_FIELDS):
                users += self._users(pks)
            _touch(user_ids=users)
        return count

    bulk_update.alters_data = True


def guard_memberships() -> None:
    """Give ``Group.members.through`` (auto-created, so it cannot declare a manager) the
    guarded queryset. Patched on the model's own manager, which ``_meta`` copies whenever
    it rebuilds its manager list."""
    for manager in Group.members.through._meta.local_managers:
        manager._queryset_class = MembershipQuerySet
    Group.members.through._meta._expire_cache()


GROUP_NAME_BLANK = "Give the group a name."


class Group(models.Model):
    """A set of users with default actions and, optionally, per-area rules.

    A group with any allow rule is *granular*: its defaults are ignored."""

    name = models.CharField(max_length=150)
    defaults = models.PositiveSmallIntegerField(
        "default permissions",
        default=ALL_ACTIONS_MASK,
        help_text="Actions granted on every area while the group has no allow rule.",
    )
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, related_name="access_groups", blank=True
    )
    reseller = models.ForeignKey(
        "resellers.Reseller",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="groups",
        help_text="The reseller this group was made for, if any.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = GroupQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        constraints = [
            # A name is how rules find their group in the resolver; a blank one is refused
            # in the database too, whatever path writes the row.
            models.CheckConstraint(
                condition=GreaterThan(Length(Trim("name")), 0),
                name="group_name_not_blank",
                violation_error_message=GROUP_NAME_BLANK,
            ),
            models.UniqueConstraint(
                Lower("name"),
                name="group_name_unique_ci",
                violation_error_message="A group with this name already exists.",
            ),
            models.CheckConstraint(
                condition=Q(defaults__lte=ALL_ACTIONS_MASK), name="group_defaults_valid"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def default_actions(self) -> list[str]:
        return actions_of(self.defaults)


class Rule(models.Model):
    """Allow or deny some actions on one area, for a group or for one user."""

    group = models.ForeignKey(
        Group, null=True, blank=True, on_delete=models.CASCADE, related_name="rules"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="access_rules",
    )
    area = models.CharField(max_length=64)
    actions = models.PositiveSmallIntegerField("access")
    effect = models.CharField(max_length=5, choices=Effect.choices, default=Effect.ALLOW)

    objects = RuleQuerySet.as_manager()

    class Meta:
        ordering = ["area", "effect"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(group__isnull=False, user__isnull=True))
                | (Q(group__isnull=True, user__isnull=False)),
                name="rule_has_one_owner",
            ),
            models.CheckConstraint(
                condition=Q(actions__gte=1, actions__lte=ALL_ACTIONS_MASK),
                name="rule_actions_valid",
            ),
            models.UniqueConstraint(
                fields=["group", "area", "effect"],
                condition=Q(group__isnull=False),
                name="rule_unique_per_group",
                violation_error_message=(
                    "This group already has a rule with that area and effect; "
                    "edit its access instead."
                ),
            ),
            models.UniqueConstraint(
                fields=["user", "area", "effect"],
                condition=Q(user__isnull=False),
                name="rule_unique_per_user",
                violation_error_message=(
                    "This user already has a rule with that area and effect; "
                    "edit its access instead."
                ),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.effect} {', '.join(self.action_list)} on {self.area}"

    @property
    def action_list(self) -> list[str]:
        return actions_of(self.actions)

    @property
    def api_path(self) -> str:
        return get_area(self.area).api_path if is_area(self.area) else ""

    @property
    def area_label(self) -> str:
        return get_area(self.area).label if is_area(self.area) else self.area

    @property
    def summary(self) -> str:
        """As a person reads it: "allow read, update on Rate Cards"."""
        return f"{self.effect} {', '.join(self.action_list)} on {self.area_label}"

    def clean(self):
        errors = {}
        if not is_area(self.area):
            errors["area"] = f"Unknown area {self.area!r}; see manage.py list_areas."
        if not self.actions or self.actions & ~ALL_ACTIONS_MASK:
            errors["actions"] = "Choose at least one of create, read, update, delete."
        if errors:
            raise ValidationError(errors)


class AccessReview(models.Model):
    """One recurring access review: who looked at every user's access, when, and what
    they found (the counts at that moment)."""

    at = models.DateTimeField(default=timezone.now, editable=False)
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    reviewer_label = models.CharField(
        max_length=254, help_text="The reviewer's e-mail, or the command that ran the review."
    )
    source = models.CharField(
        max_length=16, choices=[("panel", "Panel"), ("command", "Command")], default="panel"
    )
    stale_days = models.PositiveIntegerField()
    reseller = models.ForeignKey(
        "resellers.Reseller",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Set when a reseller's user reviewed only that reseller's users.",
    )
    users_count = models.PositiveIntegerField(default=0)
    stale_count = models.PositiveIntegerField(default=0)
    never_logged_in_count = models.PositiveIntegerField(default=0)
    administrators_count = models.PositiveIntegerField(default=0)
    no_whitelist_count = models.PositiveIntegerField(default=0)
    deactivated_count = models.PositiveIntegerField(default=0)

    reseller_path = "reseller"

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"Access review {self.at:%Y-%m-%d %H:%M} by {self.reviewer_label}"


class ReviewSchedule(models.Model):
    """How often the whole panel's access must be reviewed (one row, set by an
    administrator on the access review page); ``permissions.review_schedule`` decides when
    a review is due and reminds."""

    reseller_path = None  # the panel's own schedule, not a reseller's row

    cadence_days = models.PositiveIntegerField(
        "review every (days)",
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(3650)],
        help_text="Leave empty for no reminders.",
    )
    set_at = models.DateTimeField(default=timezone.now)
    set_by_label = models.CharField(max_length=254, blank=True)
    last_reminded_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"every {self.cadence_days} days" if self.cadence_days else "no schedule"
