from django.db import transaction

from permissions import audit

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
    return user
