"""Where the access review's totals are kept, and how every write that can change them
forgets them (``permissions.review.review_totals`` reads them; ``permissions.signals``
and the bulk user writes call ``forget_counts``). Kept apart from ``permissions.review``
so the writes can import it without importing the review.

The totals are kept with a *generation*: a random token in the cache, per database. A
write replaces it once it commits, so totals kept with an earlier one are never read
again. A page reads the generation (with the kept totals, in one cache read) before it
counts: if it counted from data a commit then changed, that commit replaced the
generation its totals are kept with."""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass

from django.core.cache import cache
from django.db import connection, transaction

logger = logging.getLogger(__name__)

# Bump when the kept value's shape or meaning changes, so no release reads another's.
COUNTS_CODE_VERSION = 1


def _generation_key() -> str:
    settings_dict = connection.settings_dict
    return f"review-counts-generation:{settings_dict.get('HOST') or ''}:{settings_dict['NAME']}"


def _new_generation() -> None:
    try:
        cache.set(_generation_key(), secrets.token_hex(8), None)
    except Exception:
        logger.warning("Cache unreachable; the access review's totals were not forgotten.")


def forget_counts() -> None:
    """Called by every write that can change the review's totals (a user added, deleted,
    signing in, deactivated, given another role, whitelist or reseller): they are counted
    again on the next page, once the write commits."""
    transaction.on_commit(_new_generation)


@dataclass(frozen=True)
class Slot:
    """Where one scope's and threshold's totals are kept, and the generation a page read
    before counting (its totals are kept under it)."""

    key: str
    generation: str | None


def read_counts(actor, stale_days: int) -> tuple[Slot, object | None]:
    """The totals ``actor`` sees at this threshold as kept in the current generation
    (started now when there is none), or None; one cache read. May raise if the cache
    is unreachable."""
    reseller = getattr(actor, "reseller_id", None)
    scope = "all" if actor is None or reseller is None else f"reseller-{reseller}"
    key = f"review-counts:{COUNTS_CODE_VERSION}:{scope}:{stale_days}"
    found = cache.get_many([_generation_key(), key])
    generation = found.get(_generation_key())
    if generation is None:
        cache.add(_generation_key(), secrets.token_hex(8), None)
        return Slot(key, cache.get(_generation_key())), None
    kept = found.get(key)
    if isinstance(kept, tuple) and len(kept) == 2 and kept[0] == generation:
        return Slot(key, generation), kept[1]
    return Slot(key, generation), None


def keep_counts(slot: Slot, value, seconds: float) -> None:
    """Keep ``value`` under the generation ``slot`` was read in: if a write has replaced it
    since, nobody will read it. May raise if the cache is unreachable."""
    if slot.generation is not None:
        cache.set(slot.key, (slot.generation, value), seconds)
