"""Benchmark 3: the panel's users list against Django admin's user changelist.

Two processes, one per side, each loading its own settings: the panel
(``controlpanel.settings.test``, PostgreSQL database ``bench_panel_<users>_<groups>_<rules>``
filled by ``generate_access_data``) and the peer (``benchmarks/peer_settings.py``: stock
``django.contrib.admin`` + ``django.contrib.auth`` with ModelBackend, PostgreSQL database
``bench_peer_<users>_<groups>`` filled with the same shape: as many users and groups, three
random groups per user, 20 random permissions per group). Both serve GET requests straight
through Django's WSGI handler with a signed-in session; this script drives them in
interleaved rounds (the order shuffled each round) so both see the same machine state, and
prints time and queries per page for each side and the ratios.

Signed in: on the panel an administrator, and a role-"user" reader whose ``user: read``
comes from a group rule (the resolver decides); on the peer a staff, non-superuser user
who gets ``auth.view_user`` through a group (ModelBackend's permission checks run).
Page sizes: the panel lists 25 users a page (fixed); the admin's default is 100, and a
second admin site at ``/admin25/`` lists 25.

Target: the panel's list and search at most 0.5 of Django admin's time (medians).
Run: .venv/bin/python benchmarks/peer.py --keep          (100,000 users, 1,000 groups)
     .venv/bin/python benchmarks/peer.py --users 2000 --groups 100   (a quick check)
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
POSTGRES = "postgres://postgres@127.0.0.1:5432/"
PERSISTENT = "?conn_max_age=60"  # connections kept across requests, as in production
CACHE_URL = "redis://127.0.0.1:6379/5"  # db 0 belongs to the test suite
TARGET = 0.5
NARROW = "bench0421"  # 100 users match (at 100,000), by e-mail on both sides
BROAD = "example.com"  # every generated user matches


def database_names(args) -> dict[str, str]:
    return {
        "panel": f"bench_panel_{args.users}_{args.groups}_{args.rules}",
        "peer": f"bench_peer_{args.users}_{args.groups}",
    }


# ---------------------------------------------------------------------------------------
# Worker side: one process per side, driven through stdin/stdout with JSON lines
# ---------------------------------------------------------------------------------------


def _prepare_panel(args):
    import _harness as h

    generated = h.prepare_panel_data(args.users, args.groups, args.rules)
    admin, reader = h.bench_actors()
    admin_cookie, reader_cookie = h.session_cookie(admin), h.session_cookie(reader)
    path = "/settings/users/"
    scenarios = {
        "panel list, administrator": (path, "", admin_cookie),
        "panel search, administrator": (path, f"q={NARROW}", admin_cookie),
        "panel broad search, administrator": (path, f"q={BROAD}", admin_cookie),
        "panel list, reader": (path, "", reader_cookie),
        "panel search, reader": (path, f"q={NARROW}", reader_cookie),
        "panel broad search, reader": (path, f"q={BROAD}", reader_cookie),
    }
    return generated, scenarios


def _progress(label: str, done: int, total: int) -> None:
    width = 30
    filled = width * done // max(total, 1)
    sys.stderr.write(f"\r{label:<12} [{'#' * filled}{'.' * (width - filled)}] {done}/{total}")
    if done >= total:
        sys.stderr.write("\n")
    sys.stderr.flush()


def _generate_peer(users: int, groups: int, seed: int = 2026) -> None:
    """The panel's data shape in stock auth models, with bulk inserts."""
    from django.contrib.auth.hashers import make_password
    from django.contrib.auth.models import Group, Permission, User
    from django.db import transaction

    batch_size = 5000
    rng = random.Random(seed)
    with transaction.atomic():
        group_objs = Group.objects.bulk_create(
            [Group(name=f"Bench group {i:05d}") for i in range(groups)], batch_size=batch_size
        )
        _progress("groups", groups, groups)
        permissions = list(Permission.objects.order_by("pk"))
        through = Group.permissions.through
        through.objects.bulk_create(
            [
                through(group_id=g.pk, permission_id=p.pk)
                for g in group_objs
                for p in rng.sample(permissions, min(20, len(permissions)))
            ],
            batch_size=batch_size,
        )
        password = make_password("bench-password-not-for-use")
        membership = User.groups.through
        for start in range(0, users, batch_size):
            batch = User.objects.bulk_create(
                [
                    User(
                        username=f"bench{i:06d}",
                        email=f"bench{i:06d}@example.com",
                        first_name="Bench",
                        last_name=f"User {i}",
                        is_staff=i % 50 == 0,
                        is_superuser=i % 50 == 0,
                        password=password,
                    )
                    for i in range(start, min(start + batch_size, users))
                ]
            )
            if group_objs:
                membership.objects.bulk_create(
                    [
                        membership(user_id=u.pk, group_id=g.pk)
                        for u in batch
                        for g in rng.sample(group_objs, min(3, len(group_objs)))
                    ]
                )
            _progress("users", min(start + batch_size, users), users)


def _prepare_peer(args):
    import _harness as h
    from django.contrib.auth.models import Group, Permission, User
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    generated = 0.0
    if not Group.objects.filter(name__startswith="Bench group ").exists():
        start = time.perf_counter()
        _generate_peer(args.users, args.groups)
        generated = time.perf_counter() - start
    staff = User.objects.filter(username="zz-bench-staff").first()
    if staff is None:
        staff = User.objects.create_user("zz-bench-staff", "zz-bench-staff@example.org")
        staff.is_staff = True
        staff.save()
        viewers = Group.objects.create(name="User viewers")
        viewers.permissions.add(Permission.objects.get(codename="view_user"))
        staff.groups.add(viewers)
    assert not staff.is_superuser and staff.has_perm("auth.view_user")
    cookie = h.session_cookie(staff)
    scenarios = {
        "admin list, 100/page": ("/admin/auth/user/", "", cookie),
        "admin search, 100/page": ("/admin/auth/user/", f"q={NARROW}", cookie),
        "admin broad search, 100/page": ("/admin/auth/user/", f"q={BROAD}", cookie),
        "admin list, 25/page": ("/admin25/auth/user/", "", cookie),
        "admin search, 25/page": ("/admin25/auth/user/", f"q={NARROW}", cookie),
        "admin broad search, 25/page": ("/admin25/auth/user/", f"q={BROAD}", cookie),
    }
    return generated, scenarios


def worker(side: str, args) -> None:
    import _harness as h
    from django.core.cache import cache
    from django.core.handlers.wsgi import WSGIHandler
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    created = h.create_postgres_database(connection.settings_dict["NAME"], fresh=not args.keep)
    generated, scenarios = (_prepare_panel if side == "panel" else _prepare_peer)(args)
    if generated:
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
    cache.clear()
    handler = WSGIHandler()

    def hit(name):
        path, query, cookie = scenarios[name]
        seconds, status, body = h.wsgi_get(handler, path, query, cookie)
        if not status.startswith("200"):
            raise SystemExit(f"{side}: {name}: {status}")
        return seconds, body

    for name in scenarios:  # warm-up: templates, caches, connection
        for _ in range(3):
            hit(name)
    details = {}
    for name in scenarios:
        with CaptureQueriesContext(connection) as queries:
            _, body = hit(name)
        details[name] = {"queries": len(queries), "bytes": len(body)}
    send = sys.stdout.write
    send(
        json.dumps(
            {
                "ready": side,
                "created": created,
                "generated": generated,
                "details": details,
                "database": connection.settings_dict["NAME"],
            }
        )
        + "\n"
    )
    sys.stdout.flush()
    for line in sys.stdin:
        if line.strip() != "round":
            break
        times = {name: [hit(name)[0] for _ in range(args.per_round)] for name in scenarios}
        send(json.dumps(times) + "\n")
        sys.stdout.flush()


# ---------------------------------------------------------------------------------------
# Driver side
# ---------------------------------------------------------------------------------------


def start_worker(side: str, database: str, argv: list[str]) -> subprocess.Popen:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=f"{POSTGRES}{database}{PERSISTENT}",
        CACHE_URL=CACHE_URL,
        DJANGO_SETTINGS_MODULE="controlpanel.settings.test" if side == "panel" else "peer_settings",
        PYTHONPATH=f"{HERE}{os.pathsep}{ROOT}",
    )
    return subprocess.Popen(
        [sys.executable, str(Path(__file__)), "--worker", side, *argv],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env=env,
        text=True,
        cwd=ROOT,
    )


def read_json(process: subprocess.Popen, side: str) -> dict:
    line = process.stdout.readline()
    if not line:
        raise SystemExit(f"the {side} worker stopped (exit {process.wait()})")
    return json.loads(line)


def ms(seconds: float) -> str:
    return f"{seconds * 1e3:8.2f} ms"


def drop_databases(names) -> None:
    import psycopg

    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as c:
        for name in names:
            c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def drive(args, argv: list[str]) -> int:
    names = database_names(args)
    workers, ready = {}, {}
    for side in ("panel", "peer"):  # one after the other: generation gets the machine
        started = time.perf_counter()
        workers[side] = start_worker(side, names[side], argv)
        ready[side] = read_json(workers[side], side)
        state = "created and filled" if ready[side]["generated"] else "reused"
        print(
            f"{side}: database {ready[side]['database']} {state}"
            + (
                f" (generated in {ready[side]['generated']:.1f} s)"
                if ready[side]["generated"]
                else ""
            )
            + f"; ready in {time.perf_counter() - started:.1f} s",
            flush=True,
        )
    times: dict[str, list[float]] = {}
    rng = random.Random(1)
    for _ in range(args.rounds):
        order = list(workers)
        rng.shuffle(order)
        for side in order:
            workers[side].stdin.write("round\n")
            workers[side].stdin.flush()
            for name, values in read_json(workers[side], side).items():
                times.setdefault(name, []).extend(values)
    for process in workers.values():
        process.stdin.write("quit\n")
        process.stdin.close()
        process.wait()
    if not args.keep:
        drop_databases(names.values())

    details = {**ready["panel"]["details"], **ready["peer"]["details"]}
    print(
        f"\n{args.users} users, {args.groups} groups ({args.rules} rules on the panel); "
        f"{args.rounds} rounds x {args.per_round} requests per page and side"
    )
    print(f"{'page':<36}{'median':>12}{'p90':>12}{'queries':>9}{'KiB':>8}")
    for name, values in times.items():
        p90 = sorted(values)[min(len(values) - 1, int(len(values) * 0.9))]
        print(
            f"{name:<36}{ms(statistics.median(values)):>12}{ms(p90):>12}"
            f"{details[name]['queries']:>9}{details[name]['bytes'] / 1024:>8.0f}"
        )
    print(f"\nratios, panel / Django admin (median time; target <= {TARGET}):")
    met = True
    for kind in ("list", "search", "broad search"):
        for who in ("reader", "administrator"):
            for size in ("100/page", "25/page"):
                ours = statistics.median(times[f"panel {kind}, {who}"])
                theirs = statistics.median(times[f"admin {kind}, {size}"])
                ratio = ours / theirs
                headline = who == "reader" and size == "100/page"
                if headline:
                    met &= ratio <= TARGET
                print(
                    f"  {kind:<13} panel {who:<14} vs admin {size:<9} {ratio:6.2f}"
                    + ("   <- target" if headline else "")
                )
    print(f"target met (reader vs admin at its default page size): {'yes' if met else 'NO'}")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--groups", type=int, default=1_000)
    parser.add_argument("--rules", type=int, default=20_000, help="panel rules (default 20000)")
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--per-round", type=int, default=5, help="requests per page a round")
    parser.add_argument(
        "--keep",
        action="store_true",
        help="reuse the databases if they exist and keep them afterwards",
    )
    parser.add_argument("--worker", choices=("panel", "peer"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker, args)
        return 0
    argv = [
        f"--users={args.users}",
        f"--groups={args.groups}",
        f"--rules={args.rules}",
        f"--per-round={args.per_round}",
    ] + (["--keep"] if args.keep else [])
    return drive(args, argv)


if __name__ == "__main__":
    sys.exit(main())
