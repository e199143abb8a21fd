"""Where the access review's totals are kept, and how every write that can change them
forgets them (``permissions.review.review_totals`` reads them; ``permissions.signals``
and the bulk user writes call ``forget_counts``). Kept apart from ``permissions.review``
so the writes can import it without importing the review.

The totals live under a *generation*: a random token in the cache, per database. A write
replaces it once it commits, so every total counted before is never read again. A page
reads the generation before it counts: if it counted from data a commit then changed,
that commit replaced the generation its totals are kept under."""

from __future__ import annotations

import logging
import secrets

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


def counts_key(actor, stale_days: int) -> str | None:
    """The cache key of the totals ``actor`` sees at this threshold, in the current
    generation (started now when there is none); None when the cache cannot keep one.
    May raise if the cache is unreachable."""
    generation = cache.get(_generation_key())
    if generation is None:
        cache.add(_generation_key(), secrets.token_hex(8), None)
        generation = cache.get(_generation_key())
    if generation is None:
        return None
    reseller = getattr(actor, "reseller_id", None)
    scope = "all" if actor is None or reseller is None else f"reseller-{reseller}"
    return f"review-counts:{COUNTS_CODE_VERSION}:{generation}:{scope}:{stale_days}"
