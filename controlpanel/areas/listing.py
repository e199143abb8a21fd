"""Search, sort, paginate and display rows: the table behind every list page.

Everything is driven by query parameters (``q``, ``sort``, ``page`` and an area's
filters), so lists work without JavaScript and every view of a list has its own URL.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal
from functools import reduce
from html import escape
from operator import or_

from django.core.exceptions import FieldDoesNotExist
from django.core.paginator import Page, Paginator
from django.db.models import Model, Q, QuerySet
from django.template.defaultfilters import linebreaksbr
from django.urls import NoReverseMatch
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe

from controlpanel.kit.urls import row_url as url_maker

from .registry import AreaDefinition, Column

SEARCH_MAX_LENGTH = 100
EMPTY = "—"


@dataclass(frozen=True)
class Cell:
    text: str
    url: str = ""

    @property
    def html(self) -> SafeString:
        """The cell as the table shows it: its text linked to ``url``, or with line breaks
        kept (``linebreaksbr``); escaped. Written here, not with template tags and filters
        per cell: a list's cells are most of its page."""
        if self.url:
            return mark_safe(f'<a href="{escape(self.url)}">{escape(self.text)}</a>')  # noqa: S308
        text = str(self.text)
        if "\n" in text or "\r" in text:
            return linebreaksbr(text, autoescape=True)
        return mark_safe(escape(text))  # noqa: S308 (escaped; no line to break)


@dataclass(frozen=True)
class Header:
    label: str
    url: str = ""  # the link that sorts by this column ("" = not sortable)
    direction: str = ""  # "ascending" / "descending" when the list is sorted by it


@dataclass(frozen=True)
class Row:
    obj: Model
    url: str
    cells: list[Cell]


def value_of(obj: Model, attr: str):
    """Follow a dotted path; a field with choices gives its label."""
    value = obj
    parts = attr.split(".")
    for i, part in enumerate(parts):
        if value is None:
            return None
        if i == len(parts) - 1:
            try:
                field = value._meta.get_field(part)
            except (AttributeError, FieldDoesNotExist):
                field = None
            if field is not None and getattr(field, "choices", None):
                return getattr(value, f"get_{part}_display")()
        value = getattr(value, part)
    return value


def as_text(value) -> str:
    if value is None or value == "":
        return EMPTY
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, datetime.datetime):
        return timezone.localtime(value).strftime("%Y-%m-%d %H:%M")
    if isinstance(value, datetime.date):
        return value.strftime("%Y-%m-%d")
    if isinstance(value, Decimal):
        return f"{value:,}"
    return str(value)


def detail_url(area_key: str, pk) -> str:
    """A row's page (``kit.urls.row_url``: one ``reverse`` per area, not per row)."""
    try:
        return url_maker(f"{area_key}-detail")(pk)
    except NoReverseMatch:
        return ""


def cells_for(obj: Model, columns, readable, row_url: str = "") -> list[Cell]:
    """The displayed cells of one row. ``readable(area)`` says whether a link to a row of
    ``area`` may be offered (the user can read that area)."""
    cells = []
    for column in columns:
        value = value_of(obj, column.attr)
        url = ""
        if column.link:
            url = row_url
        elif column.link_area and isinstance(value, Model) and readable(column.link_area):
            url = detail_url(column.link_area, value.pk)
        cells.append(Cell(as_text(value), url))
    return cells


def rows_for(objects, columns, area_key: str, readable) -> list[Row]:
    rows = []
    for obj in objects:
        url = detail_url(area_key, obj.pk)
        rows.append(Row(obj, url, cells_for(obj, columns, readable, url)))
    return rows


def search(queryset: QuerySet, fields, term: str) -> QuerySet:
    if not term or not fields:
        return queryset
    return queryset.filter(reduce(or_, (Q(**{f"{f}__icontains": term}) for f in fields)))


@dataclass
class Listing:
    page: Page
    headers: list[Header]
    rows: list[Row]
    query: str
    sort: str
    base_query: str  # the current filters and sort, for pagination links

    @property
    def total(self) -> int:
        return self.page.paginator.count


def _sort_key(requested: str, columns: tuple[Column, ...], default: str) -> str:
    allowed = {c.sort for c in columns if c.sort}
    if requested.lstrip("-") in allowed:
        return requested
    return default


def build_listing(request, definition: AreaDefinition, queryset: QuerySet, readable) -> Listing:
    """Search, sort and paginate ``queryset`` (already scoped) as the request asks."""
    term = request.GET.get("q", "").strip()[:SEARCH_MAX_LENGTH]
    queryset = search(queryset, definition.search_fields, term)
    sort = _sort_key(request.GET.get("sort", ""), definition.columns, definition.default_sort)
    queryset = queryset.order_by(sort, "-pk" if sort.startswith("-") else "pk")
    page = Paginator(queryset, definition.per_page).get_page(request.GET.get("page"))

    params = request.GET.copy()
    params.pop("page", None)
    params["q"] = term
    if not term:
        params.pop("q")
    headers = []
    for column in definition.columns:
        if not column.sort:
            headers.append(Header(column.label))
            continue
        current = sort.lstrip("-") == column.sort
        descending = current and sort.startswith("-")
        params["sort"] = column.sort if (not current or descending) else f"-{column.sort}"
        direction = ("descending" if descending else "ascending") if current else ""
        headers.append(Header(column.label, f"?{params.urlencode()}", direction))
    params["sort"] = sort
    return Listing(
        page=page,
        headers=headers,
        rows=rows_for(page.object_list, definition.columns, definition.key, readable),
        query=term,
        sort=sort,
        base_query=params.urlencode(),
    )
