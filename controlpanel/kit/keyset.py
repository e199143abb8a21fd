"""Keyset ("seek") paging: a page is the rows just after, or just before, one row in the
list's order, read from the order's index by a range condition. Every page costs the same
at 100,000 rows as at 100: ``OFFSET 100000`` makes the database read and throw away every
row before the page; a seek starts where the page starts.

The last page is the first page of the reversed order, turned back round, so "Last" works
without knowing how many rows there are. A page's links name a boundary row (its sort
value and id), so a link means the same rows whoever follows it, and stays valid when rows
are added elsewhere in the list.

Each order is a value that is never NULL (``Coalesce`` it when the column may be) then
the id, which breaks ties unless the value is unique; an index on (value, id) serves both
directions."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, replace
from typing import Any

from django.db.models import Expression, F, Q, QuerySet
from django.db.models.functions import Coalesce
from django.utils.http import urlencode

SEEK_VALUE = "seek_value"  # the annotation each row carries for its own cursor
_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)
_MICROSECOND = datetime.timedelta(microseconds=1)


class TextCodec:
    """A text sort value as it is: the database compares it, under its own collation."""

    @staticmethod
    def encode(value: str) -> str:
        return value

    @staticmethod
    def decode(text: str) -> str:
        return text


class DateTimeCodec:
    """An aware datetime as microseconds since 1970 (UTC), negative before then."""

    @staticmethod
    def encode(value: datetime.datetime) -> str:
        return str((value - _EPOCH) // _MICROSECOND)

    @staticmethod
    def decode(text: str) -> datetime.datetime:
        digits = text[1:] if text.startswith("-") else text
        if not digits.isdigit() or len(digits) > 18:
            raise ValueError("not a time")
        return _EPOCH + int(text) * _MICROSECOND


@dataclass(frozen=True)
class Seek:
    """One order of a list: ``value`` (a field name or an expression, never NULL), then
    the id unless ``unique``; ``codec`` writes the value into a cursor and reads it back."""

    value: str | Expression
    descending: bool = False
    unique: bool = False
    codec: type = TextCodec

    def annotate(self, queryset: QuerySet) -> QuerySet:
        """The rows with their sort value as ``SEEK_VALUE`` (the order and the cursors
        read it)."""
        return queryset.annotate(**{SEEK_VALUE: _expression(self.value)})

    def reversed(self) -> Seek:
        return replace(self, descending=not self.descending)

    def unindexed(self) -> Seek:
        """The same order, written so no index matches it (``COALESCE(v, v)`` is ``v``):
        for a page of a few known ids, sorting them beats walking the order's index and
        skipping every other row, which the planner may choose under a LIMIT when the
        ids could sit anywhere in the order."""
        value = _expression(self.value)
        return replace(self, value=Coalesce(value, value))

    def order_by(self) -> tuple:
        value = F(SEEK_VALUE)
        orders = (value.desc() if self.descending else value.asc(),)
        if not self.unique:
            orders += (F("pk").desc() if self.descending else F("pk").asc(),)
        return orders

    def after(self, value: Any, pk: int) -> Q:
        """The rows after (value, pk) in this order. Written as ``value >= v AND (value > v
        OR id > i)``: the first part is a range on the index, so the scan starts at the
        boundary (a plain OR would be a filter over the index from its start)."""
        beyond, reached = ("lt", "lte") if self.descending else ("gt", "gte")
        if self.unique:
            return Q(**{f"{SEEK_VALUE}__{beyond}": value})
        return Q(**{f"{SEEK_VALUE}__{reached}": value}) & (
            Q(**{f"{SEEK_VALUE}__{beyond}": value}) | Q(**{f"pk__{beyond}": pk})
        )

    def cursor(self, row) -> str:
        return f"{row.pk}.{self.codec.encode(getattr(row, SEEK_VALUE))}"

    def read_cursor(self, cursor: str) -> tuple[Any, int]:
        """(value, pk) from a cursor; ValueError for anything this order did not write."""
        pk, dot, text = cursor.partition(".")
        if not dot or not pk.isdigit() or len(pk) > 18:
            raise ValueError("not a page cursor")
        return self.codec.decode(text), int(pk)


class KeysetPage:
    """One page of ``queryset`` in ``seek``'s order: the first (no cursor), the rows after
    or before a cursor, or the last. One query, ``per_page + 1`` rows (the one more tells
    whether there is a page beyond). A cursor that leads nowhere (its rows were deleted)
    gives the first page, and so does going back to the start: it is always full. The
    template needs no count: First, Previous, Next and Last links, each off when it would
    lead back here."""

    def __init__(
        self,
        queryset: QuerySet,
        seek: Seek,
        *,
        per_page: int,
        after: str = "",
        before: str = "",
        last: bool = False,
    ):
        self.seek = seek
        queryset = seek.annotate(queryset)
        rows, more, backwards = self._rows(queryset, seek, per_page, after, before, last)
        if (not rows and (after or before)) or (backwards and not more and len(rows) < per_page):
            # The boundary row and everything beyond it are gone, or going back reached
            # the start with a short page: show the first page, full (one more query,
            # only at these edges).
            after = before = ""
            rows, more, backwards = self._rows(queryset, seek, per_page, "", "", False)
        if backwards:
            rows.reverse()
            self._has_previous, self._has_next = more, bool(before)
        else:
            self._has_previous, self._has_next = bool(after), more
        self.object_list = rows

    @staticmethod
    def _rows(queryset, seek, per_page, after, before, last) -> tuple[list, bool, bool]:
        """The page's rows in the order read, whether there are more beyond them, and
        whether they were read backwards (a previous or the last page)."""
        backwards = bool(before) or (last and not after)
        order = seek.reversed() if backwards else seek
        if after or before:
            queryset = queryset.filter(order.after(*seek.read_cursor(after or before)))
        rows = list(queryset.order_by(*order.order_by())[: per_page + 1])
        return rows[:per_page], len(rows) > per_page, backwards

    def __iter__(self):
        return iter(self.object_list)

    def __len__(self) -> int:
        return len(self.object_list)

    def has_next(self) -> bool:
        return self._has_next

    def has_previous(self) -> bool:
        return self._has_previous

    @property
    def next_cursor(self) -> str:
        return self.seek.cursor(self.object_list[-1]) if self._has_next else ""

    @property
    def previous_cursor(self) -> str:
        return self.seek.cursor(self.object_list[0]) if self._has_previous else ""


def _expression(value: str | Expression) -> Expression:
    return F(value) if isinstance(value, str) else value


def page_links(base: str, query: str, page: KeysetPage, *, fragment: str = "") -> dict[str, str]:
    """The URLs of the first, previous, next and last pages of ``page`` (empty where the
    link would lead back here), each keeping ``query`` (the list's search, filters and
    sort, already URL-encoded) and ending in ``fragment`` (``#members``, say)."""
    first = base + (f"?{query}" if query else "")
    then = f"{first}&" if query else f"{first}?"
    return {
        "first": first + fragment if page.has_previous() else "",
        "previous": (
            then + urlencode({"before": page.previous_cursor}) + fragment
            if page.has_previous()
            else ""
        ),
        "next": then + urlencode({"after": page.next_cursor}) + fragment if page.has_next() else "",
        "last": f"{then}last=1{fragment}" if page.has_next() else "",
    }
