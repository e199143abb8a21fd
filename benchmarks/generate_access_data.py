"""Bulk-build a large access configuration for the benchmarks: users, groups, rules and
memberships, with bulk inserts and a progress bar on stderr. Every 50th user is an
administrator with a known password, so this lives with the benchmarks, never in the
panel's commands.

    .venv/bin/python benchmarks/generate_access_data.py --users 100000 --groups 1000 --rules 20000

fills the database the environment names (DATABASE_URL; the embedded SQLite file
otherwise), after migrating it. It refuses a database that already holds benchmark data.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
from pathlib import Path

BATCH = 5000


def generate(
    *,
    users: int,
    groups: int,
    rules: int,
    groups_per_user: int = 3,
    seed: int = 2026,
    quiet: bool = False,
    stream=sys.stderr,
) -> str:
    """Create the data in one transaction; returns the summary line. ValueError names the
    argument that is wrong."""
    from django.contrib.auth.hashers import make_password
    from django.db import transaction

    from accounts.models import Role, User
    from controlpanel.kit.areas import ALL_ACTIONS_MASK, all_areas
    from controlpanel.kit.progress import progress_bar
    from permissions.models import Group, Rule

    for name, value in (("--users", users), ("--groups", groups), ("--rules", rules)):
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

    def bar(label, total):
        return progress_bar(stream, total, f"{label:<6}", show=not quiet)

    with transaction.atomic():
        group_objs = Group.objects.bulk_create(
            [
                Group(name=f"Bench group {i:05d}", defaults=rng.randint(0, ALL_ACTIONS_MASK))
                for i in range(groups)
            ],
            batch_size=BATCH,
        )
        group_bar = bar("groups", groups)
        group_bar.update(groups)
        group_bar.finish()
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
        password = make_password("bench-password-not-for-use")
        membership = Group.members.through
        user_bar = bar("users", users)
        for start in range(0, users, BATCH):
            batch = User.objects.bulk_create(
                [
                    User(
                        email=f"bench{i:06d}@example.com",
                        name=f"Bench User {i}",
                        role=Role.USER if i % 50 else Role.ADMINISTRATOR,
                        password=password,
                    )
                    for i in range(start, min(start + BATCH, users))
                ]
            )
            if group_objs:
                membership.objects.bulk_create(
                    [
                        membership(user_id=u.pk, group_id=g.pk)
                        for u in batch
                        for g in rng.sample(group_objs, min(groups_per_user, len(group_objs)))
                    ]
                )
            user_bar.update(min(start + BATCH, users))
        user_bar.finish()
    return f"Created {users} users, {groups} groups, {rules} rules."


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--groups", type=int, default=1_000)
    parser.add_argument("--rules", type=int, default=20_000)
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
        print(generate(**{k: v for k, v in vars(args).items()}))
    except ValueError as error:
        print(f"generate_access_data: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
