from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower

from .areas import ALL_ACTIONS_MASK, actions_of, get_area, is_area


class Effect(models.TextChoices):
    ALLOW = "allow", "Allow"
    DENY = "deny", "Deny"


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

    class Meta:
        ordering = ["name"]
        constraints = [
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

    def clean(self):
        errors = {}
        if not is_area(self.area):
            errors["area"] = f"Unknown area {self.area!r}; see manage.py list_areas."
        if not self.actions or self.actions & ~ALL_ACTIONS_MASK:
            errors["actions"] = "Choose at least one of create, read, update, delete."
        if errors:
            raise ValidationError(errors)


class AuditEntry(models.Model):
    """One line of the audit trail. Written only through ``permissions.audit.record``."""

    at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    actor_label = models.CharField(max_length=254, help_text="E-mail, 'system' or a command.")
    address = models.GenericIPAddressField(null=True, blank=True)
    action = models.CharField(max_length=32, db_index=True)
    object_type = models.CharField(max_length=64, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    message = models.TextField(blank=True)
    changes = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name_plural = "audit entries"

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_label} {self.action}"
