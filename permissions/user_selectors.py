"""The users list of Setup > Settings > Users: its filters and sort over the users an actor
may see (``accounts.selectors.users_visible_to``)."""

from django.contrib.auth.hashers import UNUSABLE_PASSWORD_PREFIX
from django.db.models import F, Prefetch, Q, QuerySet

from accounts.lockout import locked_out_usernames
from accounts.models import DISPLAY_NAME_KEY, Role, User, UserStatus
from accounts.selectors import users_visible_to
from resellers.models import Reseller

from .models import Group

LOCKED = "locked"
STATUS_CHOICES = [*UserStatus.choices, (LOCKED, "Locked out")]
NO_RESELLER = "none"

# Each sort as its ORDER BY, both directions served by one index (e-mail: its unique
# index; name and last sign-in: accounts.migrations 0004), the id breaking ties.
SORTS = {
    "name": (DISPLAY_NAME_KEY.asc(), F("id").asc()),
    "-name": (DISPLAY_NAME_KEY.desc(), F("id").desc()),
    "email": (F("email").asc(),),
    "-email": (F("email").desc(),),
    # "never signed in" counts as the oldest sign-in
    "last_login": (F("last_login").asc(nulls_first=True), F("id").asc()),
    "-last_login": (F("last_login").desc(nulls_last=True), F("id").desc()),
}
DEFAULT_SORT = "email"


def reseller_filter_choices(actor) -> QuerySet[Reseller]:
    """The resellers the users list may be filtered by: a reseller's user sees only
    their own reseller's users, so only it is offered."""
    resellers = Reseller.objects.order_by("name")
    if actor.reseller_id is not None:
        return resellers.filter(pk=actor.reseller_id)
    return resellers


def _with_status(users: QuerySet[User], status: str) -> QuerySet[User]:
    """The lifecycle of ``User.status`` as a filter, plus "locked out" (django-axes)."""
    never_signed_in = Q(password__startswith=UNUSABLE_PASSWORD_PREFIX, last_login__isnull=True)
    if status == UserStatus.DEACTIVATED:
        return users.filter(is_active=False)
    if status == UserStatus.INVITED:
        return users.filter(never_signed_in, is_active=True)
    if status == UserStatus.ACTIVE:
        # most users: the page walks the sort's index; its count reads the table
        return users.filter(is_active=True).exclude(never_signed_in)
    if status == LOCKED:
        return users.filter(email__in=locked_out_usernames())
    raise ValueError(f"unknown status {status!r}")


def user_list(
    actor,
    *,
    search: str = "",
    role: str = "",
    status: str = "",
    group: Group | None = None,
    reseller: Reseller | str | None = None,
    sort: str = DEFAULT_SORT,
) -> QuerySet[User]:
    """The users page: the actor's users, narrowed by the filters given (``reseller`` a
    reseller or ``NO_RESELLER``), in the order ``sort`` names (a key of ``SORTS``);
    reseller and groups loaded up front (three queries per page, whatever the number of
    users)."""
    users = (
        users_visible_to(actor)
        .select_related("reseller")
        .prefetch_related(Prefetch("access_groups", queryset=Group.objects.order_by("name")))
    )
    search = search.strip()
    if search:
        # Group names match through a subquery of memberships: joining every membership
        # and de-duplicating with DISTINCT costs seconds at 100,000 users.
        in_matching_group = Group.members.through.objects.filter(
            group__name__icontains=search
        ).values("user_id")
        users = users.filter(
            Q(email__icontains=search) | Q(name__icontains=search) | Q(pk__in=in_matching_group)
        )
    if role:
        users = users.filter(role=Role(role))
    if status:
        users = _with_status(users, status)
    if group is not None:
        # A subquery on the membership's group index, no join: a user is listed once.
        users = users.filter(
            pk__in=group.members.through.objects.filter(group=group).values("user_id")
        )
    if reseller == NO_RESELLER:
        users = users.filter(reseller__isnull=True)
    elif reseller is not None:
        users = users.filter(reseller=reseller)
    return users.order_by(*SORTS[sort])
