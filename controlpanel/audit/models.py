"""The audit trail's one model. Entries are written once (``log.record``) and never
changed; ``manage.py prune_audit`` is the only way old ones go."""

from django.conf import settings
from django.db import models, transaction
from django.utils import timezone


class AuditImmutableError(Exception):
    """Audit entries are written once and never changed; only ``prune`` removes them."""


IMMUTABLE_MESSAGE = (
    "Audit entries cannot be changed or deleted; "
    "old entries are removed only by `manage.py prune_audit --older-than DAYS`."
)
# Deleting a user sets ``actor`` to NULL on their entries through a queryset update (the
# deletion collector's SET_NULL). That one update is allowed; nothing else is.
_NULLABLE_ON_DELETE = frozenset({"actor", "actor_id"})


class AuditEntryQuerySet(models.QuerySet):
    def update(self, **kwargs):
        if set(kwargs) <= _NULLABLE_ON_DELETE and all(v is None for v in kwargs.values()):
            return super().update(**kwargs)
        raise AuditImmutableError(IMMUTABLE_MESSAGE)

    update.alters_data = True

    def delete(self):
        raise AuditImmutableError(IMMUTABLE_MESSAGE)

    delete.alters_data = True
    delete.queryset_only = True

    # Refused before they open a transaction, so the caller's transaction stays usable.
    def bulk_update(self, objs, fields, batch_size=None):
        raise AuditImmutableError(IMMUTABLE_MESSAGE)

    bulk_update.alters_data = True

    def update_or_create(self, defaults=None, create_defaults=None, **kwargs):
        raise AuditImmutableError(IMMUTABLE_MESSAGE)

    update_or_create.alters_data = True

    def prune(self, *, before, batch_size: int = 5000) -> int:
        """Delete the entries older than ``before``, in batches; return how many went.

        The one sanctioned way to remove entries (``manage.py prune_audit``): a raw DELETE
        by primary key, so the model's refusal does not apply and no signal is sent."""
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1.")
        total = 0
        while True:
            ids = list(
                self.filter(at__lt=before)
                .order_by("at", "id")
                .values_list("id", flat=True)[:batch_size]
            )
            if not ids:
                return total
            with transaction.atomic():
                total += AuditEntry.objects.filter(pk__in=ids)._raw_delete(using=self.db)


class AuditEntry(models.Model):
    """One line of the audit trail. Written only through ``controlpanel.audit.log.record``;
    never updated or deleted (see ``AuditEntryQuerySet``), except by ``prune``."""

    at = models.DateTimeField(default=timezone.now, editable=False)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    actor_label = models.CharField(max_length=254, help_text="E-mail, 'system' or a command.")
    address = models.GenericIPAddressField(null=True, blank=True)
    action = models.CharField(max_length=32)
    object_type = models.CharField(max_length=64, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    message = models.TextField(blank=True)
    changes = models.JSONField(default=dict, blank=True)
    # The reseller whose users may read this entry: the object's reseller, else the
    # actor's. Kept as a plain id (no constraint, nothing done on delete) so history
    # survives the reseller and the row is never touched again.
    reseller = models.ForeignKey(
        "resellers.Reseller",
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,  # audit_reseller_at covers it
        related_name="+",
    )

    objects = AuditEntryQuerySet.as_manager()
    # Row scope (resellers.selectors.scoped): a reseller's users read only its entries.
    reseller_path = "reseller"

    class Meta:
        # The table keeps the name it had when the model lived in ``permissions``.
        db_table = "permissions_auditentry"
        ordering = ["-at", "-id"]
        verbose_name_plural = "audit entries"
        indexes = [
            models.Index(fields=["-at", "-id"], name="audit_newest"),
            models.Index(fields=["action", "-at"], name="audit_action_at"),
            models.Index(fields=["object_type", "object_id", "-at"], name="audit_object_at"),
            models.Index(fields=["reseller", "-at"], name="audit_reseller_at"),
            models.Index(fields=["actor", "-at"], name="audit_actor_at"),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_label} {self.action}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise AuditImmutableError(IMMUTABLE_MESSAGE)
        # Never let a new instance that carries an existing id UPDATE that row.
        kwargs["force_insert"] = True
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AuditImmutableError(IMMUTABLE_MESSAGE)
