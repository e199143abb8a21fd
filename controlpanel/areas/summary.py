"""The dashboard's view of the areas: for each area the user can read, how many rows
they can see and the latest few. Two queries per area (a count and the latest rows)."""

from __future__ import annotations

from dataclasses import dataclass

from django.urls import reverse

from .listing import EMPTY, as_text, detail_url, value_of
from .registry import AreaDefinition, all_definitions

LATEST = 5


@dataclass(frozen=True)
class Latest:
    text: str
    url: str


@dataclass(frozen=True)
class AreaSummary:
    definition: AreaDefinition
    count: int
    latest: list[Latest]
    url: str


def _label(definition: AreaDefinition, row) -> str:
    """A row as the dashboard names it: its first two list columns ("INV-7 · Globex")."""
    texts = [as_text(value_of(row, column.attr)) for column in definition.columns[:2]]
    return " · ".join(text for text in texts if text != EMPTY)


def area_summaries(user, access) -> list[AreaSummary]:
    """Counts and latest rows of every area ``user`` may read, within their scope."""
    summaries = []
    for definition in all_definitions():
        if not access.can(definition.key, "read"):
            continue
        rows = definition.rows(user)
        count = rows.count()
        latest = list(rows.order_by(definition.latest, "-pk")[:LATEST]) if count else []
        summaries.append(
            AreaSummary(
                definition=definition,
                count=count,
                latest=[
                    Latest(_label(definition, row), detail_url(definition.key, row.pk))
                    for row in latest
                ],
                url=reverse(f"{definition.key}-list"),
            )
        )
    return summaries
