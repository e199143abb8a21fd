"""A page without a total, for searches over large tables.

An exact ``COUNT(*)`` under a substring match scans the whole table (at 100,000 users it
was most of a search's time); fetching one row more than the page tells whether there is
a next page, which is all "Previous / Next" needs."""

from __future__ import annotations

from django.core.paginator import InvalidPage


class UncountedPage:
    """The parts of Django's ``Page`` that the pagination partial uses, without a count.
    ``paginator`` is None: templates show "Page N" instead of "Page N of M"."""

    paginator = None

    def __init__(self, queryset, number, per_page: int):
        try:
            self.number = max(1, int(number or 1))
        except (TypeError, ValueError):
            self.number = 1
        start = (self.number - 1) * per_page
        rows = list(queryset[start : start + per_page + 1])
        if not rows and self.number > 1:
            raise InvalidPage("That page has no results.")
        self.object_list = rows[:per_page]
        self._has_next = len(rows) > per_page

    def __iter__(self):
        return iter(self.object_list)

    def __len__(self) -> int:
        return len(self.object_list)

    def has_next(self) -> bool:
        return self._has_next

    def has_previous(self) -> bool:
        return self.number > 1

    def next_page_number(self) -> int:
        return self.number + 1

    def previous_page_number(self) -> int:
        return self.number - 1
