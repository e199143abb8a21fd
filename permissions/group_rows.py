"""The groups table's rows (the groups list and the users page's groups column), written
in Python like the users table's (``permissions.user_rows``): name (linked), the default
permissions or "granular", the number of rules and of members. Every value escaped."""

from __future__ import annotations

from collections.abc import Iterable
from html import escape

from django.utils.safestring import SafeString, mark_safe

from controlpanel.kit.urls import row_url

from .models import Group

_GRANULAR = (
    '<span class="pill" title="This group has allow rules, so its default permissions are '
    'ignored">granular</span>'
)
_NONE = '<span class="pill pill--no">none</span>'


def group_rows(groups: Iterable[Group]) -> SafeString:
    """One ``<tr>`` per group of ``permissions.selectors.groups_overview``'s page (each
    carries ``rule_count``, ``allow_count`` and ``member_count``)."""
    detail = row_url("group-detail")
    rows = []
    # a paginator's Page iterates through Sequence.__getitem__, item by item: its list
    for group in list(getattr(groups, "object_list", groups)):
        if group.allow_count:
            defaults = _GRANULAR
        else:
            defaults = "".join(
                f'<span class="pill pill--ok">{escape(action)}</span> '
                for action in group.default_actions
            )
        rows.append(
            f'<tr><td><a href="{detail(group.pk)}">{escape(group.name)}</a></td>'
            f"<td>{defaults or _NONE}</td>"
            f"<td>{group.rule_count}</td><td>{group.member_count}</td></tr>"
        )
    return mark_safe("\n".join(rows))  # noqa: S308 (every value escaped above)
