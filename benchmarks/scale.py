"""Benchmark 4: scale.

On PostgreSQL with USERS users, GROUPS groups and RULES rules (``generate_access_data``,
three groups per user; database ``bench_panel_<users>_<groups>_<rules>``, shared with
benchmarks/peer.py):

- pages, served in-process through Django's WSGI handler to a signed-in administrator:
  users list, users search (narrow and broad), group detail, effective grid,
  access-review page. Time per page (median and p95 of --requests), queries per page,
  and the peak of Python allocations during one request (tracemalloc).
  Target: each page under 50 ms (median).
- commands, each in a subprocess of its own (``manage.py``): ``export_access`` of that
  data, ``import_access`` of the exported file into an empty database (every user
  created) and again over the same data (nothing changes), and ``access_review``.
  Wall time and the subprocess's peak resident memory (ru_maxrss via wait4), next to a
  trivial command's (``list_areas``) as the baseline. Whether a progress bar appeared is
  read from the command's stderr. The commands run again on a database with a tenth of
  the users: memory is flat when the peak over the baseline does not grow with users.
  Targets: export and import under 60 s, flat memory, a progress bar.

Run: .venv/bin/python benchmarks/scale.py --keep                   (100,000 users)
     .venv/bin/python benchmarks/scale.py --users 2000 --groups 100 --rules 1000
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
POSTGRES = "postgres://postgres@127.0.0.1:5432/"
PERSISTENT = "?conn_max_age=60"  # connections kept across requests, as in production
CACHE_URL = os.environ.get("BENCH_CACHE_URL", "redis://127.0.0.1:6379/5")
PAGE_TARGET = 0.050
COMMAND_TARGET = 60.0
FLAT_TOLERANCE = 1.25  # peak over baseline at full size / at a tenth of the users


def panel_database(users: int, groups: int, rules: int) -> str:
    return f"{ARGS.prefix}_panel_{users}_{groups}_{rules}"


def parse_args():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--groups", type=int, default=1_000)
    parser.add_argument("--rules", type=int, default=20_000)
    parser.add_argument("--requests", type=int, default=20, help="timed requests per page")
    parser.add_argument(
        "--keep", action="store_true", help="reuse the data databases and keep them afterwards"
    )
    parser.add_argument(
        "--prefix",
        default="bench",
        help="prefix of the databases' names (one per person sharing a PostgreSQL server)",
    )
    parser.add_argument("--no-commands", action="store_true", help="pages only")
    parser.add_argument("--no-pages", action="store_true", help="commands only")
    parser.add_argument(
        "--no-flat-check", action="store_true", help="skip the run at a tenth of the users"
    )
    return parser.parse_args()


ARGS = parse_args()
os.environ["DATABASE_URL"] = (
    POSTGRES + panel_database(ARGS.users, ARGS.groups, ARGS.rules) + PERSISTENT
)
os.environ["CACHE_URL"] = CACHE_URL

import _harness as h  # noqa: E402  (reads DATABASE_URL)
from django.core.cache import cache  # noqa: E402
from django.core.handlers.wsgi import WSGIHandler  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402


def prepare(users: int, groups: int, rules: int) -> float:
    """Point Django at that size's database, create and fill it when missing."""
    name = panel_database(users, groups, rules)
    connection.close()
    connection.settings_dict["NAME"] = name
    h.create_postgres_database(name, fresh=not ARGS.keep)
    generated = h.prepare_panel_data(users, groups, rules)
    if generated:
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
    return generated


# ---------------------------------------------------------------------------------------
# Pages
# ---------------------------------------------------------------------------------------


def page_figures(handler, path, query, cookie, requests):
    import tracemalloc

    for _ in range(3):
        _seconds, status, body = h.wsgi_get(handler, path, query, cookie)
        if not status.startswith("200"):
            raise SystemExit(f"{path}?{query}: {status}")
    with CaptureQueriesContext(connection) as captured:
        h.wsgi_get(handler, path, query, cookie)
    queries = len(captured)  # now: the next request empties the log
    tracemalloc.start()
    h.wsgi_get(handler, path, query, cookie)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    times = [h.wsgi_get(handler, path, query, cookie)[0] for _ in range(requests)]
    return {
        "median": h.median(times),
        "p95": sorted(times)[min(len(times) - 1, int(len(times) * 0.95))],
        "queries": queries,
        "peak": peak,
        "bytes": len(body),
    }


def measure_pages() -> bool:
    from accounts.models import User
    from permissions.models import Group

    admin, _reader = h.bench_actors()
    cookie = h.session_cookie(admin)
    group = Group.objects.filter(name__startswith="Bench group ").order_by("name")
    group = group[group.count() // 2]
    member = User.objects.filter(access_groups=group).order_by("email").first()
    pages = {
        "users list": ("/settings/users/", ""),
        "users list, last page": ("/settings/users/", f"page={-(-User.objects.count() // 25)}"),
        "users search (narrow, 100 hits)": ("/settings/users/", "q=okonkwo"),
        "users search (every user)": ("/settings/users/", "q=example.com"),
        f"group detail ({group.members.count()} members)": (
            f"/settings/groups/{group.pk}/",
            "",
        ),
        "effective grid": (f"/settings/users/{member.pk}/access/", ""),
        "access review page": ("/settings/access-review/", ""),
    }
    handler = WSGIHandler()
    cache.clear()
    print(f"\npages, signed in as an administrator ({ARGS.requests} timed requests each):")
    print(f"{'page':<34}{'median':>12}{'p95':>12}{'queries':>9}{'peak alloc':>12}{'KiB':>7}")
    met = True
    for name, (path, query) in pages.items():
        f = page_figures(handler, path, query, cookie, ARGS.requests)
        met &= f["median"] < PAGE_TARGET
        print(
            f"{name:<34}{h.ms(f['median']):>12}{h.ms(f['p95']):>12}{f['queries']:>9}"
            f"{f['peak'] / 2**20:>9.1f} MiB{f['bytes'] / 1024:>7.0f}"
        )
    verdict = "met" if met else "NOT met"
    print(f"target: every page under {PAGE_TARGET * 1e3:.0f} ms (median): {verdict}")
    return met


# ---------------------------------------------------------------------------------------
# Commands
# ---------------------------------------------------------------------------------------


# manage.py in this interpreter, then its own peak RSS: VmHWM of /proc/self/status belongs
# to the process image started by exec (ru_maxrss would include the forked parent's).
PEAK_WRAPPER = """
import re, runpy, sys
sys.argv = ["manage.py", *sys.argv[1:]]
try:
    runpy.run_path("manage.py", run_name="__main__")
finally:
    status = open("/proc/self/status").read()
    sys.stderr.write("\\nPEAK-RSS-KB %s\\n" % re.search(r"VmHWM:\\s+(\\d+)", status)[1])
"""


def run_command(database: str, argv: list[str], stdout=subprocess.DEVNULL) -> dict:
    """``manage.py`` in a subprocess: wall time, peak RSS, and whether stderr drew a bar."""
    env = dict(
        os.environ,
        DATABASE_URL=f"{POSTGRES}{database}{PERSISTENT}",
        CACHE_URL=CACHE_URL,
        DJANGO_SETTINGS_MODULE="controlpanel.settings.test",
    )
    with tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        process = subprocess.run(
            [sys.executable, "-c", PEAK_WRAPPER, *argv],
            cwd=ROOT,
            env=env,
            stdout=stdout,
            stderr=err,
            check=False,
        )
        seconds = time.perf_counter() - start
        err.seek(0)
        stderr = err.read().decode(errors="replace")
    if process.returncode != 0:
        raise SystemExit(
            f"manage.py {' '.join(argv)} failed ({process.returncode}):\n{stderr[-2000:]}"
        )
    peak = re.findall(r"^PEAK-RSS-KB (\d+)$", stderr, re.MULTILINE)
    return {
        "seconds": seconds,
        "rss": int(peak[-1]) * 1024,
        "bar": "\r" in stderr and "[" in stderr,
    }


def measure_commands(users: int, workdir: Path) -> dict[str, dict]:
    source = panel_database(users, ARGS.groups, ARGS.rules)
    target = f"{ARGS.prefix}_import_{users}_{ARGS.groups}_{ARGS.rules}"
    export_file = workdir / f"access-{users}.json"
    figures = {"baseline (list_areas)": run_command(source, ["list_areas"])}
    figures["export_access"] = run_command(
        source, ["export_access", str(export_file), "--progress"]
    )
    figures["export_access"]["size"] = export_file.stat().st_size
    h.create_postgres_database(target, fresh=True)
    run_command(target, ["migrate", "--verbosity=0"])
    figures["import_access (all new)"] = run_command(
        target, ["import_access", str(export_file), "--progress"]
    )
    figures["import_access (unchanged)"] = run_command(
        target, ["import_access", str(export_file), "--progress"]
    )
    h.drop_postgres_database(target)
    figures["access_review --format csv"] = run_command(
        source, ["access_review", "--format", "csv", "--progress"]
    )
    export_file.unlink()
    return figures


def print_commands(users: int, figures: dict[str, dict]) -> None:
    print(f"\ncommands with {users} users, {ARGS.groups} groups, {ARGS.rules} rules:")
    print(f"{'command':<30}{'wall':>10}{'peak RSS':>12}{'over baseline':>15}{'bar':>5}")
    base = figures["baseline (list_areas)"]["rss"]
    for name, f in figures.items():
        extra = (
            f"{(f['rss'] - base) / 2**20:>11.0f} MiB"
            if f is not figures["baseline (list_areas)"]
            else f"{'':>15}"
        )
        print(
            f"{name:<30}{f['seconds']:>8.1f} s{f['rss'] / 2**20:>8.0f} MiB{extra}"
            f"{'yes' if f['bar'] else 'no':>5}"
        )
    if "size" in figures["export_access"]:
        print(f"export file: {figures['export_access']['size'] / 2**20:.1f} MiB")


def main() -> int:
    started = time.perf_counter()
    generated = prepare(ARGS.users, ARGS.groups, ARGS.rules)
    print(
        f"database: {connection.settings_dict['NAME']} on PostgreSQL, cache: {CACHE_URL}; "
        + (f"generated in {generated:.1f} s" if generated else "data reused")
    )
    results = {} if ARGS.no_pages else {"pages": measure_pages()}
    if not ARGS.no_commands:
        with tempfile.TemporaryDirectory(prefix="bench-scale-") as workdir:
            full = measure_commands(ARGS.users, Path(workdir))
            print_commands(ARGS.users, full)
            timed = ("export_access", "import_access (all new)", "import_access (unchanged)")
            results["time"] = all(full[n]["seconds"] < COMMAND_TARGET for n in timed)
            results["bar"] = all(full[n]["bar"] for n in (*timed, "access_review --format csv"))
            print(
                f"target: export and import under {COMMAND_TARGET:.0f} s: "
                f"{'met' if results['time'] else 'NOT met'}"
            )
            print(
                "target: a progress bar on every command: "
                + ("met" if results["bar"] else "NOT met (see 'bar' above)")
            )
            if not ARGS.no_flat_check:
                small = max(1, ARGS.users // 10)
                generated = prepare(small, ARGS.groups, ARGS.rules)
                tenth = measure_commands(small, Path(workdir))
                print_commands(small, tenth)
                print(f"\nmemory growth, {small} -> {ARGS.users} users (peak RSS over baseline):")
                flat = True
                for name in tenth:
                    if name.startswith("baseline"):
                        continue
                    big = full[name]["rss"] - full["baseline (list_areas)"]["rss"]
                    little = tenth[name]["rss"] - tenth["baseline (list_areas)"]["rss"]
                    grows = big / max(little, 2**20)
                    ok = big <= FLAT_TOLERANCE * max(little, 8 * 2**20)
                    flat &= ok
                    print(
                        f"  {name:<30}{little / 2**20:>7.0f} MiB -> {big / 2**20:>5.0f} MiB"
                        f"  x{grows:.1f}  {'flat' if ok else 'GROWS'}"
                    )
                results["flat"] = flat
                print(f"target: flat memory: {'met' if flat else 'NOT met'}")
                if not ARGS.keep:
                    h.drop_postgres_database(panel_database(small, ARGS.groups, ARGS.rules))
    if not ARGS.keep:
        h.drop_postgres_database(panel_database(ARGS.users, ARGS.groups, ARGS.rules))
    print(f"\nall targets met: {'yes' if all(results.values()) else 'NO'}")
    print(f"(whole run: {time.perf_counter() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
