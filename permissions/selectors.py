"""Reads about groups and rules that carry a rule of their own: the groups overview, the
plain data the pure resolver works on, and the effective-permission grid."""

from __future__ import annotations

from dataclasses import dataclass

from django.core.paginator import Page, Paginator
from django.db.models import Count, Exists, F, Func, Max, OuterRef, Subquery
from django.db.models.functions import Coalesce

from controlpanel.kit.areas import ACTIONS, Area, all_areas

from .models import Effect, Group, Rule
from .resolver import (
    EffectivePermissions,
    GroupData,
    KnownGroups,
    RuleData,
    load_inputs,
    resolve,
    role_gate,
)

GROUPS_PER_PAGE = 25


def groups_overview(page_number=None) -> Page:
    """One page of groups, by name, each with its number of rules, of allow rules (any
    makes it granular) and of members: one query for the page, each count a correlated
    subquery over this page's groups only (an index-only scan per group; counting through
    joins over every group multiplies rules by members, millions of rows at 1,000 groups
    and 100,000 users), plus the paginator's count."""
    rules = Rule.objects.filter(group_id=OuterRef("pk")).order_by().values("group_id")
    # COUNT(*), not COUNT(id): the membership's group index answers it alone (an
    # index-only scan); counting a column makes PostgreSQL read every row from the table.
    members = (
        Group.members.through.objects.filter(group_id=OuterRef("pk")).order_by().values("group_id")
    )
    groups = Group.objects.order_by("name").annotate(
        rule_count=_count_of(rules),
        allow_count=_count_of(rules.filter(effect=Effect.ALLOW)),
        member_count=_count_of(members),
    )
    return Paginator(groups, GROUPS_PER_PAGE).get_page(page_number)


def _count_of(rows) -> Coalesce:
    """``COUNT(*)`` of a correlated subquery's rows, 0 when there are none."""
    counted = rows.annotate(n=Func(F("group_id"), function="COUNT", template="COUNT(*)"))
    return Coalesce(Subquery(counted.values("n")[:1]), 0)


# The last list of every group's id and name, under the stamp it was read at.
_GROUP_NAMES: dict[tuple, list[tuple[int, str]]] = {}


def group_names(using: str = "default") -> list[tuple[int, str]]:
    """Every group's (id, name), by name: for pickers and filters that offer them all.

    A thousand groups cost more to read and turn into objects than the rest of the users
    page; they change rarely. So the list is kept in this process under a stamp read in
    one small query (how many groups, the newest ``updated_at``, the highest id: any
    create, rename or delete changes it; every write path saves ``updated_at``, the bulk
    import included) and read again only when the stamp moves. Each server keeps its own,
    so there is nothing to invalidate across servers."""
    counts = Group.objects.using(using).aggregate(
        n=Count("*"), newest=Max("updated_at"), top=Max("id")
    )
    stamp = (using, counts["n"], counts["newest"], counts["top"])
    names = _GROUP_NAMES.get(stamp)
    if names is None:
        names = list(Group.objects.using(using).order_by("name").values_list("pk", "name"))
        _GROUP_NAMES.clear()
        _GROUP_NAMES[stamp] = names
    return names


def access_data(
    group_ids, user_id=None, *, known: KnownGroups | None = None
) -> tuple[list[GroupData], list[RuleData]]:
    """The resolver's input for these groups (and this user's own rules), as if the user
    were in exactly these groups (the what-if grid, a change being checked): the
    resolver's one loader, two queries (one when ``known`` holds the groups)."""
    return load_inputs([user_id], group_ids=group_ids, known=known)[user_id]


def group_access(group: Group) -> EffectivePermissions:
    """What a member of this group alone may do: the pure resolver over its data."""
    groups, rules = access_data([group.pk])
    return resolve(groups, rules)


@dataclass(frozen=True)
class UserAccessPage:
    """What the effective-permissions page shows of a user: every group by name (id,
    name and default permissions: the what-if choices), the user's own group ids, and what
    the user may do now (explained, from the database)."""

    groups: list[tuple[int, str, int]]
    member_ids: frozenset[int]
    access: EffectivePermissions

    @property
    def choices(self) -> list[tuple[int, str]]:
        return [(pk, name) for pk, name, _ in self.groups]

    def known(self, ids) -> KnownGroups:
        """These of the groups already read, for ``access_data`` (not read again)."""
        ids = set(ids)
        return KnownGroups(
            {pk: GroupData(name, defaults) for pk, name, defaults in self.groups if pk in ids}
        )


def user_access_page(user, *, every_group: bool = True) -> UserAccessPage:
    """Two queries: every group, each marked whether the user is a member (an index probe
    per group), and the rules of the user's groups with their own (none for an
    administrator or inactive user, whom the role decides). The user's groups come from
    the list of every group the page offers, not read again, and their access is resolved
    here rather than from the cache (whose answer carries no explanation and would read
    the user and their rules again to give one). Without ``every_group`` (no what-if
    choices shown) only the user's own groups are read."""
    membership = Group.members.through.objects.filter(group_id=OuterRef("pk"), user_id=user.pk)
    groups, member_ids = [], set()
    listed = Group.objects.order_by("name").annotate(member=Exists(membership))
    if not every_group:
        listed = listed.filter(member=True)
    for pk, name, defaults, member in listed.values_list("id", "name", "defaults", "member"):
        groups.append((pk, name, defaults))
        if member:
            member_ids.add(pk)
    member_ids = frozenset(member_ids)
    page = UserAccessPage(groups, member_ids, role_gate(user))
    if page.access is None:
        inputs = access_data(member_ids, user.pk, known=page.known(member_ids))
        page = UserAccessPage(groups, member_ids, resolve(*inputs))
    return page


@dataclass(frozen=True)
class GridCell:
    action: str
    allowed: bool
    reasons: tuple[str, ...]  # everything ``explain`` said
    sources: tuple[int, ...] = ()  # legend numbers of who decided
    overridden: tuple[int, ...] = ()  # legend numbers of grants a deny overrode
    # What-if grids: the verdict of the grid compared with, when it differs from this one.
    was_allowed: bool | None = None

    @property
    def changed(self) -> bool:
        return self.was_allowed is not None


@dataclass(frozen=True)
class GridRow:
    area: Area
    cells: tuple[GridCell, ...]


@dataclass(frozen=True)
class Grid:
    """Areas by CRUD actions. ``legend``: every distinct source (role, group default
    permissions, rule) that decided a cell, said once; ``legend[n - 1]`` is source ``n``
    and each cell lists the numbers of its sources. ``changed``: in a grid compared with
    another (the what-if), how many cells have a different verdict."""

    rows: tuple[GridRow, ...]
    legend: tuple[str, ...] = ()
    changed: int = 0


def permission_grid(access: EffectivePermissions, *, compare_to: Grid | None = None) -> Grid:
    """Every area and action, decided and explained by the resolver's ``explain``; with
    ``compare_to``, each cell whose verdict differs from that grid's is marked."""
    numbers: dict[str, int] = {}

    def number(source: str) -> int:
        return numbers.setdefault(source, len(numbers) + 1)

    before = (
        {(row.area.key, cell.action): cell.allowed for row in compare_to.rows for cell in row.cells}
        if compare_to is not None
        else {}
    )
    rows = []
    changed = 0
    for area in all_areas():
        cells = []
        for action in ACTIONS:
            decision = access.explain(area.key, action)
            was = before.get((area.key, action), decision.allowed)
            changed += was != decision.allowed
            cells.append(
                GridCell(
                    action,
                    decision.allowed,
                    decision.reasons,
                    tuple(number(source) for source in decision.sources),
                    tuple(number(source) for source in decision.overridden),
                    was if was != decision.allowed else None,
                )
            )
        rows.append(GridRow(area, tuple(cells)))
    return Grid(tuple(rows), tuple(numbers), changed)
