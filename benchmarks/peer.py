"""Benchmark 3: every settings page of the panel against its closest Django admin page,
like for like.

Two processes, one per side, each with its own settings and PostgreSQL database: the
panel (``controlpanel.settings.test``, data from ``generate_access_data.py``) and the peer
(``peer_settings.py``: stock ``django.contrib.admin`` on ``django.contrib.auth``, data
from ``peer_data.py``). Both hold the same population (``population.py``): as many users
and groups, the same names and e-mails, three random groups a user, one group of 300,
the same resellers and audit trail (the peer reads the panel's own ``Reseller`` and
``AuditEntry`` tables). Equal page sizes (``peer_urls.py`` sets admin's ``list_per_page``
to the panel's).

The same harness on both sides: ``django.test.Client`` signed in with ``force_login``,
``--warmup`` untimed requests per page, then ``--rounds`` x ``--per-round`` timed ones,
interleaved page by page (the order of sides and sizes drawn at random each round; with
several ``--sizes`` all of them run at once, so growth is measured under one machine
state); medians. Pairs: administrator vs superuser, reader vs staff viewer (``peer_pages.py``).
Search terms hit 0, 1, 20, 100 and every user, spread across the table.
Then the same pages over real HTTP: gunicorn (``--http-workers``, default 2) per side,
signed in through each side's login form (CSRF and all), keep-alive connections.

Target per page: panel <= 0.5 x admin (median, in-process) and < 30 ms; with two sizes,
the panel's growth from the smaller to the larger <= 1.3 x.

Run: .venv/bin/python benchmarks/peer.py --sizes 10000 100000 --keep [--markdown]
     .venv/bin/python benchmarks/peer.py --sizes 2000 --groups 100 --rules 1000  (a quick check)
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
TARGET_RATIO = 0.5
TARGET_MS = 30.0
TARGET_GROWTH = 1.3
PANEL_ONLY_MS = 50.0  # --panel-only: the target for every page at 1,000,000 users
SIDES = ("panel", "peer")


def database_name(args, side: str, users: int) -> str:
    return f"{args.db_prefix}_{side}_{users}_{args.groups}" + (
        f"_{args.rules}" if side == "panel" else ""
    )


# ---------------------------------------------------------------------------------------
# Worker: one process per side and size, driven with JSON lines on stdin/stdout
# ---------------------------------------------------------------------------------------


def _prepare(side: str, args) -> float:
    """Migrate and fill the database unless it holds the data; seconds spent generating."""
    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    if side == "peer":  # then the unmigrated Reseller and AuditEntry, once auth_user exists
        call_command("migrate", verbosity=0, run_syncdb=True)
    if get_user_model().objects.filter(email__endswith="@example.com").exists():
        return 0.0
    start = time.perf_counter()
    if side == "panel":
        from generate_access_data import generate

        summary = generate(users=args.users, groups=args.groups, rules=args.rules)
    else:
        from peer_data import generate_peer

        summary = generate_peer(args.users, args.groups)
    print(summary, file=sys.stderr)
    return time.perf_counter() - start


def worker(side: str, args) -> None:
    import _harness as h
    import peer_pages as pages
    from django.core.cache import cache
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    created = h.create_postgres_database(connection.settings_dict["NAME"], fresh=not args.keep)
    generated = _prepare(side, args)
    if generated:
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
    actors = pages.panel_actors() if side == "panel" else pages.peer_actors()
    scenarios = (pages.panel_scenarios if side == "panel" else pages.peer_scenarios)(
        args.users, args.groups
    )
    cache.clear()
    clients = {}
    for pair, actor in zip(("admin", "reader"), actors, strict=True):
        clients[pair] = Client()
        clients[pair].force_login(actor)

    def hit(pair, key):
        path, query = scenarios[pair][key]
        start = time.perf_counter()
        response = clients[pair].get(path, query_params=dict(_pairs(query)))
        seconds = time.perf_counter() - start
        if response.status_code != 200:
            raise SystemExit(f"{side}: {pair}: {key}: {path}?{query}: {response.status_code}")
        return seconds, response

    details = {}
    for pair, keys in scenarios.items():
        for key in keys:
            for _ in range(args.warmup):
                hit(pair, key)
            with CaptureQueriesContext(connection) as queries:
                _, response = hit(pair, key)
            details[f"{pair}|{key}"] = {
                "queries": len(queries),
                # a paginator's or queryset's .count(): Django writes it AS "__count"
                "counts": sum('AS "__count"' in q["sql"] for q in queries.captured_queries),
                "bytes": len(response.content),
            }
    _send(
        {
            "ready": side,
            "created": created,
            "generated": generated,
            "details": details,
            "scenarios": scenarios,
            "database": connection.settings_dict["NAME"],
        }
    )
    for line in sys.stdin:
        command = json.loads(line)
        if command.get("quit"):
            break
        pair, key = command["pair"], command["key"]
        _send([hit(pair, key)[0] for _ in range(command["n"])])


def selected(args, keys):
    """The page keys ``--only`` names (any of its words in the key), or all of them."""
    return [key for key in keys if not args.only or any(word in key for word in args.only)]


def _pairs(query: str):
    from urllib.parse import parse_qsl

    return parse_qsl(query, keep_blank_values=True)


def _send(message) -> None:
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


# ---------------------------------------------------------------------------------------
# Driver
# ---------------------------------------------------------------------------------------


def side_env(side: str, database: str, args) -> dict:
    return {
        "DATABASE_URL": f"{POSTGRES}{database}{PERSISTENT}",
        "CACHE_URL": args.cache_url,
        "DJANGO_SETTINGS_MODULE": "controlpanel.settings.test"
        if side == "panel"
        else "peer_settings",
        "PYTHONPATH": f"{HERE}{os.pathsep}{ROOT}",
    }


def start_worker(side: str, database: str, args, users: int) -> subprocess.Popen:
    argv = [
        f"--users={users}",
        f"--groups={args.groups}",
        f"--rules={args.rules}",
        f"--warmup={args.warmup}",
    ] + (["--keep"] if args.keep else [])
    return subprocess.Popen(
        [sys.executable, str(Path(__file__)), "--worker", side, *argv],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env=dict(os.environ, **side_env(side, database, args)),
        text=True,
        cwd=ROOT,
    )


def ask(process: subprocess.Popen, side: str, message=None):
    if message is not None:
        process.stdin.write(json.dumps(message) + "\n")
        process.stdin.flush()
    line = process.stdout.readline()
    if not line:
        raise SystemExit(f"the {side} worker stopped (exit {process.wait()})")
    return json.loads(line)


def run_all(args) -> list[dict]:
    """Measure every page at every size: in-process, then over HTTP. All sizes' workers
    run at once and every page is measured on all of them in the same rounds (order drawn
    at random), so growth from one size to the next is measured under one machine state."""
    sides = ("panel",) if args.panel_only else SIDES
    units = [(users, side) for users in args.sizes for side in sides]
    names = {(users, side): database_name(args, side, users) for users, side in units}
    workers, ready = {}, {}
    for unit in units:  # one after the other: generation gets the machine
        users, side = unit
        started = time.perf_counter()
        workers[unit] = start_worker(side, names[unit], args, users)
        ready[unit] = ask(workers[unit], side)
        seconds = ready[unit]["generated"]
        how = f"generated in {seconds:.0f} s" if seconds else "reused"
        print(
            f"[{users}] {side}: {names[unit]} ({how}); "
            f"ready in {time.perf_counter() - started:.0f} s",
            file=sys.stderr,
        )
    rng = random.Random(1)
    results = {users: {"users": users, "pages": {}} for users in args.sizes}
    for pair, keys in ready[units[0]]["scenarios"].items():
        for key in selected(args, keys):
            name = f"{pair}|{key}"
            times = {unit: [] for unit in units}
            for _ in range(args.rounds):
                order = list(units)
                rng.shuffle(order)
                for unit in order:
                    times[unit] += ask(
                        workers[unit], unit[1], {"pair": pair, "key": key, "n": args.per_round}
                    )
            for users in args.sizes:
                results[users]["pages"][name] = {
                    side: {"times": times[(users, side)], **ready[(users, side)]["details"][name]}
                    for side in sides
                }
                ours = med_ms(times[(users, "panel")])
                if args.panel_only:
                    print(f"[{users}] {pair:<6} {key:<34} panel {ours:7.1f} ms", file=sys.stderr)
                    continue
                theirs = med_ms(times[(users, "peer")])
                print(
                    f"[{users}] {pair:<6} {key:<34} panel {ours:7.1f} ms  admin {theirs:7.1f} ms"
                    f"  ratio {ours / theirs:5.2f}",
                    file=sys.stderr,
                    flush=True,
                )
    for unit in units:
        workers[unit].stdin.write(json.dumps({"quit": True}) + "\n")
        workers[unit].stdin.close()
        workers[unit].wait()
    if args.http_requests and not args.panel_only:
        http_rounds(args, names, {unit: ready[unit]["scenarios"] for unit in units}, results)
    if not args.keep:
        import _harness as h

        for name in names.values():
            h.drop_postgres_database(name)
    return [results[users] for users in args.sizes]


def http_rounds(args, names: dict, scenarios: dict, results: dict) -> None:
    """The same pages through gunicorn (one server per side and size), each actor signed in
    through its side's login form; interleaved like the in-process rounds."""
    import _http
    import peer_pages as pages

    units = list(names)
    servers = {}
    try:
        for unit in units:
            env = side_env(unit[1], names[unit], args)
            settings = env.pop("DJANGO_SETTINGS_MODULE")
            servers[unit] = _http.start_gunicorn(settings, env, args.http_workers)
        browsers = {}
        for unit in units:
            port = servers[unit][1]
            for pair in ("admin", "reader"):
                browser = _http.Browser(port)
                if unit[1] == "panel":
                    email = pages.PANEL_ADMIN if pair == "admin" else pages.PANEL_READER
                    browser.login("/accounts/login/", {"email": email, "password": pages.PASSWORD})
                else:
                    username = pages.PEER_SUPER if pair == "admin" else pages.PEER_STAFF
                    browser.login(
                        "/admin/login/",
                        {"username": username, "password": pages.PASSWORD},
                        next_url="/admin/",
                    )
                browsers[(unit, pair)] = browser
        rng = random.Random(2)
        for pair, keys in scenarios[units[0]].items():
            for key in selected(args, keys):
                times = {unit: [] for unit in units}
                for round_number in range(args.warmup + args.http_requests):
                    order = list(units)
                    rng.shuffle(order)
                    for unit in order:
                        status, _, seconds, _ = browsers[(unit, pair)].get(
                            _http.url(*scenarios[unit][pair][key])
                        )
                        if status != 200:
                            raise SystemExit(f"HTTP {unit} {pair} {key}: {status}")
                        if round_number >= args.warmup:
                            times[unit].append(seconds)
                for users, side in units:
                    results[users]["pages"][f"{pair}|{key}"][side]["http"] = times[(users, side)]
    finally:
        for process, _ in servers.values():
            _http.stop(process)


def med_ms(values) -> float:
    return statistics.median(values) * 1e3 if values else float("nan")


def render(headers: list[str], rows: list[list[str]], markdown: bool) -> str:
    if markdown:
        lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
        lines += ["| " + " | ".join(row) + " |" for row in rows]
        return "\n".join(lines)
    widths = [max(len(str(x)) for x in column) for column in zip(headers, *rows, strict=True)]
    fmt = "  ".join(f"{{:<{w}}}" if i == 0 else f"{{:>{w}}}" for i, w in enumerate(widths))
    return "\n".join(fmt.format(*row) for row in [headers, *rows])


def panel_report(args, results: list[dict]) -> int:
    """``--panel-only``: the panel's pages at each size, the growth from the smallest to the
    largest, and whether each page stays under ``PANEL_ONLY_MS`` at the largest size."""
    import peer_pages as pages

    md, missed = args.markdown, 0
    sizes = [result["users"] for result in results]
    print(f"\n### The panel alone: {', '.join(f'{n:,}' for n in sizes)} users\n")
    headers = ["pair", "page", *[f"{n:,} ms" for n in sizes], "growth", f"< {PANEL_ONLY_MS:.0f} ms"]
    headers.append("queries")
    rows = []
    for pair in ("admin", "reader"):
        for key in selected(args, pages.keys_for(pair)):
            name = f"{pair}|{key}"
            ms = [med_ms(result["pages"][name]["panel"]["times"]) for result in results]
            met = ms[-1] < PANEL_ONLY_MS
            missed += not met
            verdict = "met" if met else "**no**" if md else "NO"
            queries = str(results[-1]["pages"][name]["panel"]["queries"])
            growth = f"{ms[-1] / ms[0]:.2f}"
            rows.append([pair, key, *[f"{value:.1f}" for value in ms], growth, verdict, queries])
    print(render(headers, rows, md) + "\n")
    print(f"target: every page < {PANEL_ONLY_MS:.0f} ms at {sizes[-1]:,} users; missed: {missed}")
    return 0


def report(args, results: list[dict]) -> int:
    import peer_pages as pages

    if args.panel_only:
        return panel_report(args, results)

    md = args.markdown
    missed = 0
    for result in results:
        print(f"\n### {result['users']:,} users, {args.groups:,} groups, {args.rules:,} rules\n")
        for pair, title in (
            ("admin", "panel administrator vs admin superuser"),
            ("reader", "panel reader vs admin staff user with view permissions"),
        ):
            print(f"{title}:\n")
            headers = ["page", "panel ms", "admin ms", "ratio", "target"]
            headers += ["panel HTTP ms", "admin HTTP ms", "HTTP ratio"]
            headers += ["queries p/a", "COUNTs p/a", "KiB p/a"]
            rows = []
            for key in selected(args, pages.keys_for(pair)):
                page = result["pages"][f"{pair}|{key}"]
                ours, theirs = med_ms(page["panel"]["times"]), med_ms(page["peer"]["times"])
                met = ours / theirs <= TARGET_RATIO and ours < TARGET_MS
                missed += not met
                http = [med_ms(page[side].get("http", [])) for side in SIDES]
                rows.append(
                    [
                        key,
                        f"{ours:.1f}",
                        f"{theirs:.1f}",
                        f"{ours / theirs:.2f}",
                        "met" if met else "**no**" if md else "NO",
                        f"{http[0]:.1f}",
                        f"{http[1]:.1f}",
                        f"{http[0] / http[1]:.2f}",
                        f"{page['panel']['queries']}/{page['peer']['queries']}",
                        f"{page['panel']['counts']}/{page['peer']['counts']}",
                        f"{page['panel']['bytes'] / 1024:.0f}/{page['peer']['bytes'] / 1024:.0f}",
                    ]
                )
            print(render(headers, rows, md) + "\n")
    if len(results) >= 2:
        small, large = results[0], results[-1]
        print(
            f"\n### Growth, {small['users']:,} → {large['users']:,} users (medians, in-process)\n"
        )
        headers = ["pair", "page", "panel small", "panel large", "growth", "target", "admin growth"]
        rows = []
        for name, page in large["pages"].items():
            pair, key = name.split("|")
            before = small["pages"].get(name)
            if before is None:
                continue
            growth = med_ms(page["panel"]["times"]) / med_ms(before["panel"]["times"])
            met = growth <= TARGET_GROWTH
            missed += not met
            rows.append(
                [
                    pair,
                    key,
                    f"{med_ms(before['panel']['times']):.1f}",
                    f"{med_ms(page['panel']['times']):.1f}",
                    f"{growth:.2f}",
                    "met" if met else "**no**" if md else "NO",
                    f"{med_ms(page['peer']['times']) / med_ms(before['peer']['times']):.2f}",
                ]
            )
        print(render(headers, rows, md) + "\n")
    print("\nWhat each side does that the other does not:")
    for side, title in (("panel", "panel"), ("peer", "Django admin")):
        for line in pages.DIFFERENCES[side]:
            print(f"- {title}: {line}")
    print(
        f"\ntargets: panel <= {TARGET_RATIO} x admin and < {TARGET_MS:.0f} ms (in-process medians)"
        + (f"; growth <= {TARGET_GROWTH} x" if len(results) >= 2 else "")
        + f"; missed: {missed}"
    )
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--users", type=int, help=argparse.SUPPRESS)  # the worker's size
    parser.add_argument("--groups", type=int, default=1_000)
    parser.add_argument("--rules", type=int, default=20_000, help="panel rules (default 20000)")
    parser.add_argument("--warmup", type=int, default=3, help="untimed requests per page")
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--per-round", type=int, default=3, help="requests per page a round")
    parser.add_argument("--http-requests", type=int, default=15, help="0: no HTTP figures")
    parser.add_argument("--http-workers", type=int, default=2)
    parser.add_argument("--db-prefix", default="bench", help="databases PREFIX_panel_…")
    parser.add_argument("--cache-url", default="redis://127.0.0.1:6379/5")
    parser.add_argument("--markdown", action="store_true", help="tables in markdown")
    parser.add_argument(
        "--only", nargs="+", metavar="WORD", help="only the pages whose key contains a WORD"
    )
    parser.add_argument(
        "--panel-only",
        action="store_true",
        help="the panel's pages alone (no admin, no HTTP): growth up to sizes the peer is not "
        "generated for, e.g. --sizes 10000 100000 1000000",
    )
    parser.add_argument("--save", help="also write the raw figures to this JSON file")
    parser.add_argument(
        "--keep", action="store_true", help="reuse the databases if they exist, keep them"
    )
    parser.add_argument("--worker", choices=SIDES, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker, args)
        return 0
    results = run_all(args)
    if args.save:
        Path(args.save).write_text(json.dumps({"args": vars(args), "results": results}))
    return report(args, results)


if __name__ == "__main__":
    sys.exit(main())
