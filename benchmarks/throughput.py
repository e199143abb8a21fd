"""Benchmark 5: throughput of one protected page under gunicorn, with 1 and 2 workers.

gunicorn (sync workers) on 127.0.0.1 serves the panel (``controlpanel.settings.test`` on
PostgreSQL, database ``<prefix>_throughput``, persistent connections as in production;
Redis as the cache). One client signs in through the login form (GET, POST with the CSRF
token); then ``--clients`` concurrent clients, each on its own keep-alive connection with
that session, request the customers list for ``--duration`` seconds: a role-"user" whose
access comes from five groups' rules and who has an IP whitelist, after a warm-up that
fills the permission cache.

The load generator is Python (threads, ``http.client``), so nothing needs installing; it
shares the machine's cores with gunicorn, PostgreSQL and Redis, as wrk would. When
Debian's ``wrk`` is installed (``apt-get install -y wrk``) it runs as well, on the same
server, for comparison (``--tool``).

Reports requests/s, latency percentiles (client side) and errors: every answer that is not
200 (a redirect to the sign-in page would count) and every failed connection.
Run: .venv/bin/python benchmarks/throughput.py [--duration 20] [--clients 8] [--workers 1 2]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
PASSWORD = "bench-password-not-for-use"
EMAIL = "bench-throughput@example.com"


def parse_args():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--duration", type=int, default=20, help="seconds of load (max 120)")
    parser.add_argument("--clients", type=int, default=8, help="concurrent connections")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2], help="gunicorn workers")
    parser.add_argument("--tool", choices=("auto", "python", "wrk"), default="auto")
    parser.add_argument("--db-prefix", default="bench")
    parser.add_argument("--cache-url", default="redis://127.0.0.1:6379/5")
    args = parser.parse_args()
    if not 1 <= args.duration <= 120:
        parser.error("--duration: give 1 to 120 seconds")
    if not 1 <= args.clients <= 64:
        parser.error("--clients: give 1 to 64")
    return args


ARGS = parse_args()
DATABASE = f"{ARGS.db_prefix}_throughput"
DATABASE_URL = f"postgres://postgres@127.0.0.1:5432/{DATABASE}?conn_max_age=60"
os.environ["DATABASE_URL"] = DATABASE_URL
os.environ["CACHE_URL"] = ARGS.cache_url

import _harness as h  # noqa: E402  (reads DATABASE_URL)
import _http  # noqa: E402
from django.core.cache import cache  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.urls import reverse  # noqa: E402


def make_user():
    from accounts.ipwhitelist import parse_whitelist, stored_whitelist
    from accounts.models import Role, User
    from controlpanel.kit.areas import all_areas, mask_of
    from permissions.models import Group, Rule

    groups = [Group.objects.create(name=f"Bench {i}") for i in range(5)]
    for group in groups:
        for area in all_areas():
            Rule.objects.create(group=group, area=area.key, actions=mask_of(["read"]))
    user = User.objects.create_user(EMAIL, PASSWORD, role=Role.USER)
    user.ip_whitelist = stored_whitelist(parse_whitelist(["127.0.0.1", "10.", "192.168.0.0/16"]))
    user.save()
    user.access_groups.set(groups)
    return user


def python_load(port: int, cookies: dict, path: str, clients: int, duration: float) -> dict:
    """``clients`` threads, each a keep-alive connection, GET ``path`` until time is up."""
    latencies: list[list[float]] = [[] for _ in range(clients)]
    errors = [0] * clients
    start_line = threading.Barrier(clients + 1)
    stop_at = [0.0]

    def client(n: int) -> None:
        browser = _http.Browser(port)
        browser.cookies.update(cookies)
        start_line.wait()
        while time.perf_counter() < stop_at[0]:
            try:
                status, _, seconds, _ = browser.get(path)
            except OSError:
                errors[n] += 1
                continue
            latencies[n].append(seconds)
            if status != 200:
                errors[n] += 1

    threads = [threading.Thread(target=client, args=(n,), daemon=True) for n in range(clients)]
    for thread in threads:
        thread.start()
    started = time.perf_counter()
    stop_at[0] = started + duration
    start_line.wait()
    for thread in threads:
        thread.join(duration + 60)
    elapsed = time.perf_counter() - started
    every = sorted(x for per_client in latencies for x in per_client)
    if not every:
        raise SystemExit("no request finished")

    def pct(p):
        return every[min(len(every) - 1, int(len(every) * p))]

    return {
        "requests": len(every),
        "rps": len(every) / elapsed,
        "p50": statistics.median(every),
        "p90": pct(0.90),
        "p99": pct(0.99),
        "errors": sum(errors),
    }


def wrk_load(wrk: str, port: int, cookies: dict, path: str, clients: int, duration: int) -> dict:
    cookie = "; ".join(f"{k}={v}" for k, v in cookies.items())
    run = subprocess.run(
        [
            wrk,
            "--threads=2",
            f"--connections={clients}",
            f"--duration={duration}s",
            "--timeout=5s",
            "--latency",
            "--header",
            f"Cookie: {cookie}",
            f"http://127.0.0.1:{port}{path}",
        ],
        capture_output=True,
        text=True,
        timeout=duration + 30,
        check=True,
    )
    units = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}
    figures = {"errors": 0}
    for line in run.stdout.splitlines():
        if m := re.match(r"\s+(50|90|99)%\s+([\d.]+)(us|ms|s|m)\s*$", line):
            figures[f"p{m[1]}"] = float(m[2]) * units[m[3]]
        elif m := re.match(r"\s+(\d+) requests in", line):
            figures["requests"] = int(m[1])
        elif m := re.match(r"Requests/sec:\s+([\d.]+)", line):
            figures["rps"] = float(m[1])
        elif m := re.match(r"\s+Non-2xx or 3xx responses:\s+(\d+)", line):
            figures["errors"] += int(m[1])
        elif m := re.match(
            r"\s+Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", line
        ):
            figures["errors"] += sum(int(x) for x in m.groups())
    return figures


def main() -> int:
    wrk = shutil.which("wrk")
    if ARGS.tool == "wrk" and wrk is None:
        raise SystemExit("wrk is not installed: apt-get install -y wrk (or --tool python)")
    tools = ["python"] + (["wrk"] if wrk and ARGS.tool != "python" else [])
    if ARGS.tool == "wrk":
        tools = ["wrk"]
    h.create_postgres_database(DATABASE, fresh=True)
    call_command("migrate", verbosity=0)
    cache.clear()
    make_user()
    path = reverse("customer-list")
    env = {"DATABASE_URL": DATABASE_URL, "CACHE_URL": ARGS.cache_url}
    rows = []
    try:
        for workers in ARGS.workers:
            process, port = _http.start_gunicorn("controlpanel.settings.test", env, workers)
            try:
                browser = _http.Browser(port)
                browser.login("/accounts/login/", {"email": EMAIL, "password": PASSWORD})
                for _ in range(50 * workers):  # warm-up: every worker, the permission cache
                    status, body, _, _ = browser.get(path)
                    if status != 200 or b"Customers" not in body:
                        raise SystemExit(f"warm-up: {path} answered {status}")
                for tool in tools:
                    if tool == "python":
                        figures = python_load(
                            port, browser.cookies, path, ARGS.clients, ARGS.duration
                        )
                    else:
                        figures = wrk_load(
                            wrk, port, browser.cookies, path, ARGS.clients, ARGS.duration
                        )
                    after = browser.get(path)[0]
                    figures["errors"] += after != 200
                    rows.append((workers, tool, figures))
            finally:
                _http.stop(process)
    finally:
        h.drop_postgres_database(DATABASE)

    print(
        f"page {path} (signed in through the login form; role user, 5 groups, IP whitelist; "
        f"warm cache); {ARGS.clients} concurrent keep-alive clients, {ARGS.duration} s each; "
        f"gunicorn sync workers on 127.0.0.1; {os.cpu_count()} CPUs shared with the clients, "
        "PostgreSQL and Redis\n"
    )
    print("| workers | load generator | requests | requests/s | p50 | p90 | p99 | errors |")
    print("|---|---|---|---|---|---|---|---|")
    for workers, tool, f in rows:
        print(
            f"| {workers} | {tool} | {f.get('requests', 0):,} | {f.get('rps', 0):.1f} | "
            f"{f.get('p50', 0) * 1e3:.1f} ms | {f.get('p90', 0) * 1e3:.1f} ms | "
            f"{f.get('p99', 0) * 1e3:.1f} ms | {f['errors']} |"
        )
    failed = sum(f["errors"] for _, _, f in rows)
    print(f"\ntarget: zero errors: {'met' if failed == 0 else 'NOT met'}")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
