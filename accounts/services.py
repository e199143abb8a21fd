"""Writes a user makes to their own account. Changes to other people's accounts, which
touch access, are in ``permissions.user_services``."""

from __future__ import annotations

from django.db import transaction

from controlpanel.audit import log as audit

from . import lifecycle
from .models import User


@transaction.atomic
def user_change_own_password(*, user: User, new_password: str, address: str | None) -> User:
    """Set the password (validated by the form) and record it; the changed hash ends the
    user's other sessions."""
    user.set_password(new_password)
    user.save(update_fields=["password", "updated_at"])
    audit.record(
        audit.Action.PASSWORD_CHANGE,
        actor=user,
        address=address,
        obj=user,
        message="Changed own password.",
    )
    lifecycle.notify_password_changed(user, address=address)
    return user
