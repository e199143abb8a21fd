"""The outbox: one row per e-mail the panel sends, written in the transaction of the change
that causes it, and sent afterwards by a task (``controlpanel.outbox.sending``)."""

from django.db import models
from django.db.models import Q
from django.utils import timezone


class OutboxState(models.TextChoices):
    QUEUED = "queued", "Queued"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"


class OutboxMessageQuerySet(models.QuerySet):
    def due(self, now=None):
        """Rows a sender may claim now: queued ones whose next attempt has come, and ones
        whose sender's claim has lapsed (it died mid-send)."""
        now = now or timezone.now()
        return self.filter(
            Q(state=OutboxState.QUEUED, next_attempt_at__lte=now)
            | Q(state=OutboxState.SENDING, claimed_until__lt=now)
        )


class OutboxMessage(models.Model):
    # The outbox area is reseller-scoped through the recipient's reseller (or the reseller
    # of the customer an alert is about): a reseller's user sees only their own mail.
    reseller_path = "reseller"

    kind = models.CharField(max_length=40)
    to = models.EmailField(max_length=254)
    subject = models.CharField(max_length=255)
    # Mails carrying a sign-in link are ``sensitive``: the body is never shown on the page
    # or by the command, and is wiped once the mail has gone.
    body = models.TextField(blank=True)
    sensitive = models.BooleanField(default=False)
    reseller = models.ForeignKey(
        "resellers.Reseller",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    state = models.CharField(max_length=8, choices=OutboxState.choices, default=OutboxState.QUEUED)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    claimed_until = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)

    objects = OutboxMessageQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["state", "next_attempt_at"], name="outbox_due"),
            models.Index(fields=["-created_at", "-id"], name="outbox_newest"),
        ]

    def __str__(self) -> str:
        return f"{self.subject} → {self.to}"
