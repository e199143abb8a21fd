"""Bulk-build a large access configuration for the benchmarks: users, groups, rules,
memberships, resellers and an audit trail, with a progress bar on stderr. Every 50th user
is an administrator with a known password, so this lives with the benchmarks, never in
the panel's commands.

    .venv/bin/python benchmarks/generate_access_data.py --users 100000 --groups 1000 --rules 20000

fills the database the environment names (DATABASE_URL; the embedded SQLite file
otherwise), after migrating it. It refuses a database that already holds benchmark data.
On PostgreSQL users, memberships and audit entries are written with ``COPY`` a batch at a
time (memory stays flat: 1,000,000 users need no more than 10,000); elsewhere with
``bulk_create``. Who the users are and which search terms hit whom:
``benchmarks/population.py`` (the same for the peer of ``peer.py``).
"""

from __future__ import annotations

import argparse
import datetime
import os
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from population import Population

BATCH = 5000


def bulk_write(model, rows, *, using="default") -> None:
    """Insert rows, each a dict of field attnames to values (the rest take the field's
    default), with COPY on PostgreSQL, else ``bulk_create``. On PostgreSQL the defaults
    (and ``auto_now(_add)``) are computed once, from one unsaved instance, and shared by
    every row: a default that must differ per row (a random token) is the caller's to give.
    Without the primary key in a row, the database numbers it."""
    from django.db import connections

    from controlpanel.kit.bulk import insert_values

    connection = connections[using]
    rows = list(rows)
    if not rows:
        return
    if connection.vendor != "postgresql":
        model.objects.using(using).bulk_create([model(**row) for row in rows], batch_size=1000)
        return
    prototype = model()
    given = set(rows[0])
    fields = [
        f for f in model._meta.local_concrete_fields if not f.primary_key or f.attname in given
    ]
    defaults = {
        f.attname: f.get_db_prep_save(f.pre_save(prototype, True), connection)
        for f in fields
        if f.attname not in given
    }
    columns = [f.attname for f in fields]
    insert_values(
        model,
        columns,
        ([row[c] if c in given else defaults[c] for c in columns] for row in rows),
        using=using,
    )


def audit_rows(population, start: int, stop: int, total: int, *, first_entry, first_user, now):
    """The audit entries ``start``..``stop`` of ``total`` as rows for ``bulk_write``; both
    sides of the peer benchmark write the same ones."""
    rows = []
    for k in range(start, stop):
        e = population.audit_entry(k, total)
        rows.append(
            {
                "id": first_entry + k,
                "at": now - datetime.timedelta(seconds=e["seconds_ago"]),
                "actor_id": first_user + e["actor"] if first_user is not None else None,
                "actor_label": e["actor_label"] if first_user is not None else "system",
                "address": "192.0.2.10",
                "action": e["action"],
                "object_type": e["object_type"],
                "object_id": e["object_id"],
                "message": e["message"],
            }
        )
    return rows


def next_id(model, *, using="default") -> int:
    from django.db.models import Max

    return (model.objects.using(using).aggregate(m=Max("pk"))["m"] or 0) + 1


def reset_sequence(model, *, using="default") -> None:
    """After explicit primary keys: the next ``save()`` gets a free one."""
    from django.core.management.color import no_style
    from django.db import connections

    connection = connections[using]
    statements = connection.ops.sequence_reset_sql(no_style(), [model])
    with connection.cursor() as cursor:
        for sql in statements:
            cursor.execute(sql)


def generate(
    *,
    users: int,
    groups: int,
    rules: int,
    resellers: int = 200,
    audit: int | None = None,
    groups_per_user: int = 3,
    seed: int = 2026,
    quiet: bool = False,
    stream=sys.stderr,
) -> str:
    """Create the data in one transaction; returns the summary line. ValueError names the
    argument that is wrong. ``audit`` entries default to one per user."""
    from django.contrib.auth.hashers import make_password
    from django.db import connection, transaction
    from django.utils import timezone

    from accounts.models import Role, User, new_access_stamp
    from controlpanel.audit.models import AuditEntry
    from controlpanel.kit.areas import ALL_ACTIONS_MASK, all_areas
    from controlpanel.kit.progress import progress_bar
    from permissions.models import Group, Rule
    from resellers.models import Reseller

    audit = users if audit is None else audit
    for name, value in (
        ("--users", users),
        ("--groups", groups),
        ("--rules", rules),
        ("--resellers", resellers),
        ("--audit", audit),
    ):
        if value < 0:
            raise ValueError(f"{name} must be zero or more.")
    areas = [area.key for area in all_areas()]
    if groups and rules > groups * len(areas) * 2:
        raise ValueError(
            f"--rules: at most {groups * len(areas) * 2} rules fit {groups} groups "
            "(one allow and one deny per area)."
        )
    if Group.objects.filter(name__startswith="Bench group ").exists():
        raise ValueError("Benchmark data already exists in this database.")
    rng = random.Random(seed)
    population = Population(users, groups, groups_per_user=groups_per_user, seed=seed)

    def bar(label, total):
        return progress_bar(stream, total, f"{label:<7}", show=not quiet)

    with transaction.atomic():
        first_reseller = next_id(Reseller)
        bulk_write(
            Reseller,
            [
                {"id": first_reseller + r, "name": f"Bench reseller {r:04d}", "email": ""}
                for r in range(resellers)
            ],
        )
        group_objs = Group.objects.bulk_create(
            [
                Group(name=f"Bench group {i:05d}", defaults=rng.randint(0, ALL_ACTIONS_MASK))
                for i in range(groups)
            ],
            batch_size=BATCH,
        )
        group_ids = [g.pk for g in group_objs]
        slots = [(g, a, e) for g in group_objs for a in areas for e in ("allow", "deny")]
        chosen = rng.sample(slots, rules) if rules else []
        rule_bar = bar("rules", len(chosen))
        for start in range(0, len(chosen), BATCH):
            Rule.objects.bulk_create(
                [
                    Rule(group=g, area=a, effect=e, actions=rng.randint(1, ALL_ACTIONS_MASK))
                    for g, a, e in chosen[start : start + BATCH]
                ]
            )
            rule_bar.update(min(start + BATCH, len(chosen)))
        rule_bar.finish()
        del slots, chosen

        password = make_password("bench-password-not-for-use")
        first_user = next_id(User)
        membership = Group.members.through
        user_bar = bar("users", users)
        members = population.memberships()
        for start in range(0, users, BATCH):
            stop = min(start + BATCH, users)
            batch = []
            for i in range(start, stop):
                person = population.person(i)
                batch.append(
                    {
                        "id": first_user + i,
                        "email": person["email"],
                        "name": person["name"],
                        "role": Role.ADMINISTRATOR if person["administrator"] else Role.USER,
                        "reseller_id": (first_reseller + i % resellers)
                        if resellers and i % 10 == 0 and not person["administrator"]
                        else None,
                        "password": password,
                        "access_stamp": new_access_stamp(),
                    }
                )
            bulk_write(User, batch)
            links = []
            for _ in range(start, stop):
                i, group_indexes = next(members)
                links += [
                    {"user_id": first_user + i, "group_id": group_ids[g]} for g in group_indexes
                ]
            bulk_write(membership, links)
            user_bar.update(stop)
        user_bar.finish()

        now = timezone.now()
        first_entry = next_id(AuditEntry)
        audit_bar = bar("audit", audit)
        for start in range(0, audit, BATCH):
            stop = min(start + BATCH, audit)
            entries = audit_rows(
                population,
                start,
                stop,
                audit,
                first_entry=first_entry,
                first_user=first_user if users else None,
                now=now,
            )
            bulk_write(AuditEntry, entries)
            audit_bar.update(stop)
        audit_bar.finish()
        for model in (Reseller, User, AuditEntry):
            reset_sequence(model)
    if connection.vendor == "postgresql":  # fresh statistics, or the planner guesses
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    return (
        f"Created {users} users, {groups} groups, {rules} rules, {resellers} resellers, "
        f"{audit} audit entries."
    )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--groups", type=int, default=1_000)
    parser.add_argument("--rules", type=int, default=20_000)
    parser.add_argument("--resellers", type=int, default=200)
    parser.add_argument("--audit", type=int, default=None, help="entries (default: --users)")
    parser.add_argument("--groups-per-user", type=int, default=3)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "controlpanel.settings.base")
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
    try:
        print(generate(**vars(args)))
    except ValueError as error:
        print(f"generate_access_data: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
