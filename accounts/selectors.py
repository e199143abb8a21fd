"""Reads about users that carry a rule: which users an actor may see (the users list of
Setup > Settings > Users, with its filters and sort, is ``permissions.user_selectors``)."""

from django.db.models import QuerySet

from resellers.selectors import scoped

from .models import User


def users_visible_to(actor) -> QuerySet[User]:
    """Users are reseller-scoped: someone linked to a reseller sees only that reseller's
    users (the one scoping selector decides; the role does not widen the scope)."""
    return scoped(User.objects.all(), actor)
