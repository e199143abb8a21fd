"""Reads about groups and rules that carry a rule of their own: the groups overview, the
plain data the pure resolver works on, and the effective-permission grid."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from django.core.paginator import Page, Paginator
from django.db.models import Count, Q

from .areas import ACTIONS, Area, all_areas
from .models import Group, Rule
from .resolver import EffectivePermissions, GroupData, RuleData, resolve

GROUPS_PER_PAGE = 25


def groups_overview(page_number=None) -> Page:
    """One page of groups, by name, each with its number of rules, of allow rules (any
    makes it granular) and of members. The counts are grouped queries over this page's
    groups only: counting through joins over every group multiplies rules by members
    (millions of rows at 1,000 groups and 100,000 users)."""
    page = Paginator(Group.objects.order_by("name"), GROUPS_PER_PAGE).get_page(page_number)
    ids = [group.pk for group in page]
    rules: dict[int, dict[str, int]] = {}
    for row in (
        Rule.objects.filter(group_id__in=ids)
        .order_by()
        .values("group_id", "effect")
        .annotate(n=Count("pk"))
    ):
        rules.setdefault(row["group_id"], {})[row["effect"]] = row["n"]
    members = dict(
        Group.members.through.objects.filter(group_id__in=ids)
        .order_by()
        .values("group_id")
        .annotate(n=Count("pk"))
        .values_list("group_id", "n")
    )
    for group in page:
        counts = rules.get(group.pk, {})
        group.rule_count = sum(counts.values())
        group.allow_count = counts.get("allow", 0)
        group.member_count = members.get(group.pk, 0)
    return page


def access_data(group_ids, user_id=None) -> tuple[list[GroupData], list[RuleData]]:
    """The resolver's input for these groups (and this user's own rules): two queries."""
    group_ids = list(group_ids)
    groups = list(Group.objects.filter(pk__in=group_ids).values_list("id", "name", "defaults"))
    names = {group_id: name for group_id, name, _ in groups}
    owner = Q(group_id__in=list(names))
    if user_id is not None:
        owner |= Q(user_id=user_id)
    rules = [
        RuleData(area=area, actions=actions, effect=effect, group=names.get(group_id))
        for group_id, area, actions, effect in Rule.objects.filter(owner).values_list(
            "group_id", "area", "actions", "effect"
        )
    ]
    return [GroupData(name, defaults) for _, name, defaults in groups], rules


def group_access(group: Group) -> EffectivePermissions:
    """What a member of this group alone may do: the pure resolver over its data."""
    groups, rules = access_data([group.pk])
    return resolve(groups, rules)


@dataclass(frozen=True)
class GridCell:
    action: str
    allowed: bool
    reasons: tuple[str, ...]  # everything ``explain`` said
    details: tuple[str, ...] = ()  # what the cell shows: reasons not said once above


@dataclass(frozen=True)
class GridRow:
    area: Area
    cells: tuple[GridCell, ...]


@dataclass(frozen=True)
class Grid:
    """Areas by CRUD actions. ``common_reason``: the one reason behind every cell
    (administrator, inactive, no groups), said once. ``notes``: reasons that recur in
    many cells beside a more specific one (a granular group's defaults being ignored),
    said once above the grid so each cell shows what decided it."""

    rows: tuple[GridRow, ...]
    common_reason: str = ""
    notes: tuple[str, ...] = ()


def permission_grid(access: EffectivePermissions) -> Grid:
    """Every area and action, decided and explained by the resolver's ``explain``."""
    decided = [
        (area, [(action, access.explain(area.key, action)) for action in ACTIONS])
        for area in all_areas()
    ]
    every_cell = [decision.reasons for _, cells in decided for _, decision in cells]
    distinct = set(every_cell)
    if len(distinct) == 1 and len(next(iter(distinct))) == 1:
        common = every_cell[0][0]
        notes: tuple[str, ...] = ()
    else:
        common = ""
        seen = Counter(reason for reasons in every_cell for reason in reasons)
        notes = tuple(
            reason
            for reason, count in seen.items()
            if count > 1 and all(len(r) > 1 for r in every_cell if reason in r)
        )
    rows = tuple(
        GridRow(
            area,
            tuple(
                GridCell(
                    action,
                    decision.allowed,
                    decision.reasons,
                    () if common else tuple(r for r in decision.reasons if r not in notes),
                )
                for action, decision in cells
            ),
        )
        for area, cells in decided
    )
    return Grid(rows, common, notes)
