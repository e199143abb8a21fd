"""The users list of Setup > Settings > Users: its filters and sort over the users an actor
may see (``accounts.selectors.users_visible_to``)."""

from django.contrib.auth.hashers import UNUSABLE_PASSWORD_PREFIX
from django.db import connections
from django.db.models import Prefetch, Q, QuerySet

from accounts.lockout import locked_out_usernames
from accounts.models import DISPLAY_NAME_KEY, LAST_LOGIN_KEY, Role, User, UserStatus
from accounts.selectors import users_visible_to
from controlpanel.kit.keyset import DateTimeCodec, Seek
from resellers.models import Reseller

from .models import Group

LOCKED = "locked"
STATUS_CHOICES = [*UserStatus.choices, (LOCKED, "Locked out")]
NO_RESELLER = "none"

# Each sort as a keyset order, both directions served by one index (e-mail: its unique
# index; name and last sign-in: the accounts migrations 0006 and 0010), the id breaking
# ties. "Never signed in" counts as the oldest sign-in.
_SEEKS = {
    "name": Seek(DISPLAY_NAME_KEY),
    "email": Seek("email", unique=True),
    "last_login": Seek(LAST_LOGIN_KEY, codec=DateTimeCodec),
}
SORTS = {
    **_SEEKS,
    **{f"-{key}": seek.reversed() for key, seek in _SEEKS.items()},
}
DEFAULT_SORT = "email"
# A search first asks for the ids of at most this many matching users (one query, each
# condition read from its own index: on PostgreSQL a trigram index). Fewer: the page is
# sorted from those ids, whatever their place in the order. As many: the term is common,
# and walking the order's index stops after a page of matches.
SEARCH_FEW = 1000


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


# A group's members are first asked for by id, at most this many (the membership's
# (group, user) index, read alone). Fewer: the page is sorted from those ids. As many: the
# group is large, its members are dense in any order, and walking the order's index stops
# after a page of them. Walking the order for a small group reads most of the table: at
# 1,000,000 users a group of 300 took 1.2 s.
MEMBERS_FEW = 2000


def in_group(users: QuerySet[User], group: Group) -> tuple[QuerySet[User], bool]:
    """``users`` narrowed to the group's members, and whether they are a few known ids
    (then page them with ``Seek.unindexed``). A subquery on the membership's group index,
    no join: a user is listed once."""
    memberships = group.members.through.objects.filter(group=group).order_by()
    ids = list(memberships.values_list("user_id", flat=True)[: MEMBERS_FEW + 1])
    if len(ids) <= MEMBERS_FEW:
        return users.filter(pk__in=ids), True
    return users.filter(pk__in=memberships.values("user_id")), False


def _search(users: QuerySet[User], term: str) -> tuple[QuerySet[User], bool]:
    """Users whose e-mail, name or one of whose groups' names contains ``term``.

    One condition over the three (an OR) walks the sort's index and tests every row, so a
    term that matches few users reads the whole table. On PostgreSQL each condition is
    first asked alone, UNION ALL, for at most ``SEARCH_FEW`` + 1 ids: the trigram indexes
    (accounts migration 0011) find a rare term's few rows, and a common term stops as
    soon as the limit is reached. SQLite, small by nature, keeps the plain OR. The flag
    says whether the users are a few known ids."""
    # Group names match through a subquery of memberships: joining every membership and
    # de-duplicating with DISTINCT costs seconds at 100,000 users.
    memberships = Group.members.through.objects.filter(group__name__icontains=term)
    if connections[users.db].vendor == "postgresql":
        everyone = User.objects.using(users.db).order_by()
        ids = list(
            everyone.filter(email__icontains=term)
            .values_list("id")
            .union(
                everyone.filter(name__icontains=term).values_list("id"),
                memberships.order_by().values_list("user_id"),
                all=True,
            )[: SEARCH_FEW + 1]
        )
        if len(ids) <= SEARCH_FEW:
            return users.filter(pk__in={pk for (pk,) in ids}), True
    matching = Q(email__icontains=term) | Q(name__icontains=term)
    return users.filter(matching | Q(pk__in=memberships.values("user_id"))), False


def user_list(
    actor,
    *,
    search: str = "",
    role: str = "",
    status: str = "",
    group: Group | None = None,
    reseller: Reseller | int | str | None = None,
    sort: str = DEFAULT_SORT,
) -> tuple[QuerySet[User], Seek]:
    """The users page's rows, and the keyset order to page them by: the actor's users,
    narrowed by the filters given (``reseller`` a reseller, its id or ``NO_RESELLER``), in the
    order ``sort`` names (a key of ``SORTS``); reseller and groups loaded with the page
    (two queries per page, whatever the number of users: the reseller is joined to the
    page's rows only; each user's groups, by name, in ``group_list``)."""
    users = (
        users_visible_to(actor)
        .select_related("reseller")
        .prefetch_related(
            # the names are all the list shows; a list, not a manager per row to read them
            Prefetch(
                "access_groups",
                queryset=Group.objects.only("id", "name").order_by("name"),
                to_attr="group_list",
            )
        )
    )
    seek = SORTS[sort]
    search = search.strip()
    if search:
        users, few = _search(users, search)
        if few:
            seek = seek.unindexed()
    if role:
        users = users.filter(role=Role(role))
    if status:
        users = _with_status(users, status)
    if group is not None:
        users, few = in_group(users, group)
        if few:
            seek = seek.unindexed()
    if reseller == NO_RESELLER:
        users = users.filter(reseller__isnull=True)
    elif reseller is not None:
        users = users.filter(reseller=reseller)
    return users, seek
