from django.db import models
from django.db.models.functions import Lower


class Reseller(models.Model):
    """A reseller account: its users see only its own customers' records."""

    name = models.CharField("company name", max_length=200)
    email = models.EmailField(blank=True)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                Lower("name"),
                name="reseller_name_unique_ci",
                violation_error_message="A reseller with this name already exists.",
            )
        ]

    def __str__(self) -> str:
        return self.name
