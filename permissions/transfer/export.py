"""Export: the whole access configuration as JSON, streamed a batch of users at a time
from one consistent snapshot, so memory stays flat however many users there are."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterable
from contextlib import contextmanager
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.db.models.functions import Lower

from accounts.ipwhitelist import typed_entries
from controlpanel.kit.areas import actions_of, is_area
from controlpanel.kit.progress import NoProgress
from resellers.models import Reseller

from ..models import Group
from .writing import USER_FIELDS, chunks, groups_and_rules_of

DEFAULT_EXPORT_BATCH = 500


@dataclass
class ExportResult:
    counts: Counter = field(default_factory=Counter)
    warnings: list[str] = field(default_factory=list)


def _sort_key(name: str) -> tuple[str, str]:
    return (name.lower(), name)


def _rules_json(rules, owner: str, result: ExportResult) -> list[dict]:
    out = []
    for rule in sorted(rules, key=lambda r: (r.area, r.effect)):
        if not is_area(rule.area):
            result.warnings.append(
                f"{owner}: skipped the {rule.effect} rule on '{rule.area}', an area that is "
                "no longer in the registry (it grants nothing)"
            )
            continue
        out.append({"area": rule.area, "access": actions_of(rule.actions), "effect": rule.effect})
    return out


def _user_objects(rows: Iterable[dict], batch_size: int, result: ExportResult, bar):
    """The users' JSON objects, a batch at a time: two queries per batch (memberships and
    own rules), read as plain values, whatever the batch holds."""
    for batch in chunks(rows, batch_size):
        groups_of, rules_of = groups_and_rules_of([row["id"] for row in batch])
        for row in batch:
            yield {
                "email": row["email"],
                "name": row["name"],
                "role": row["role"],
                "groups": sorted(groups_of[row["id"]], key=_sort_key),
                "reseller": row["reseller__name"],
                "timezone": row["timezone"],
                "ip_whitelist": typed_entries(row["ip_whitelist"]),
                "shared_ticket": row["shared_ticket"],
                "active": row["is_active"],
                "rules": _rules_json(rules_of[row["id"]], f"user {row['email']}", result),
            }
        bar.advance(len(batch))


def _write_array(write, key: str, objects: Iterable[dict], *, last: bool, result) -> None:
    write(f'  "{key}": [')
    count = 0
    for obj in objects:
        write(("\n" if count == 0 else ",\n") + "    " + json.dumps(obj, ensure_ascii=False))
        count += 1
    write("\n  ]" if count else "]")
    write("\n" if last else ",\n")
    result.counts[key] = count


@contextmanager
def _snapshot():
    """One consistent view of the database for the whole export."""
    outermost = not connection.in_atomic_block
    with transaction.atomic():
        if outermost and connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        yield


def export_access(
    write: Callable[[str], object],
    *,
    batch_size: int = DEFAULT_EXPORT_BATCH,
    progress=None,
) -> ExportResult:
    """Write the whole access configuration as JSON through ``write``, deterministically
    (sorted by name or e-mail, actions in CRUD order), one object a line. Users are read
    ``batch_size`` at a time with a constant number of queries per batch and written as
    they come, so memory stays flat however many users there are. With ``progress``
    (``(label, total) -> bar``), one more query counts the users for the bar."""
    result = ExportResult()
    User = get_user_model()
    with _snapshot():
        bar = progress("Exporting users", User.objects.count()) if progress else NoProgress()
        write("{\n")
        resellers = sorted(Reseller.objects.values_list("name", flat=True), key=_sort_key)
        _write_array(
            write, "resellers", ({"name": n} for n in resellers), last=False, result=result
        )
        groups = sorted(Group.objects.prefetch_related("rules"), key=lambda g: _sort_key(g.name))
        _write_array(
            write,
            "groups",
            (
                {
                    "name": g.name,
                    "defaults": actions_of(g.defaults),
                    "rules": _rules_json(g.rules.all(), f"group '{g.name}'", result),
                }
                for g in groups
            ),
            last=False,
            result=result,
        )
        rows = (
            User.objects.order_by(Lower("email"), "pk")
            .values(*USER_FIELDS)
            .iterator(chunk_size=batch_size)
        )
        try:
            _write_array(
                write,
                "users",
                _user_objects(rows, batch_size, result, bar),
                last=True,
                result=result,
            )
        finally:
            bar.finish()
        write("}\n")
    return result
