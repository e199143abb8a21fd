"""Benchmark 5: throughput.

gunicorn with 2 sync workers on 127.0.0.1 serves the panel (``controlpanel.settings.test``
on PostgreSQL, database ``bench_throughput``, persistent connections as in production;
Redis db 5 as the cache) and wrk (Debian's ``wrk``) loads one protected page, the
customers list, as a signed-in role-"user" whose access comes from five groups' rules and
who has an IP whitelist, after a warm-up that fills the permission cache. Requests go to
127.0.0.1 only, for a fixed duration; gunicorn is stopped afterwards.

Reports requests/s, latency percentiles (wrk's, client side) and errors: wrk's socket
errors and non-2xx/3xx answers, and every answer in gunicorn's access log that was not
200 (a redirect to the sign-in page would count). Target: zero errors.
Run: .venv/bin/python benchmarks/throughput.py [--duration 20] [--connections 8]
Needs: apt-get install -y wrk
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DATABASE = "bench_throughput"
DATABASE_URL = f"postgres://postgres@127.0.0.1:5432/{DATABASE}?conn_max_age=60"
CACHE_URL = "redis://127.0.0.1:6379/5"


def parse_args():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--duration", type=int, default=20, help="seconds of load (max 120)")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    args = parser.parse_args()
    if not 1 <= args.duration <= 120:
        parser.error("--duration: give 1 to 120 seconds")
    return args


ARGS = parse_args()
os.environ["DATABASE_URL"] = DATABASE_URL
os.environ["CACHE_URL"] = CACHE_URL

import _harness as h  # noqa: E402  (reads DATABASE_URL)
from django.core.cache import cache  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.urls import reverse  # noqa: E402


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_user():
    from accounts.ipwhitelist import parse_whitelist, stored_whitelist
    from accounts.models import Role, User
    from controlpanel.kit.areas import all_areas, mask_of
    from permissions.models import Group, Rule

    groups = [Group.objects.create(name=f"Bench {i}") for i in range(5)]
    for group in groups:
        for area in all_areas():
            Rule.objects.create(group=group, area=area.key, actions=mask_of(["read"]))
    user = User.objects.create_user("bench@example.com", None, role=Role.USER)
    user.ip_whitelist = stored_whitelist(parse_whitelist(["127.0.0.1", "10.", "192.168.0.0/16"]))
    user.save()
    user.access_groups.set(groups)
    return user


def get(url: str, cookie: str = "") -> tuple[int, bytes]:
    request = urllib.request.Request(url, headers={"Cookie": cookie} if cookie else {})

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(request, timeout=5) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, b""


def wait_until_up(base: str, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"gunicorn stopped (exit {process.returncode})")
        try:
            if get(base + reverse("health"))[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit("gunicorn did not answer within 30 s")


def parse_wrk(text: str) -> dict:
    def seconds(value: str, unit: str) -> float:
        return float(value) * {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}[unit]

    figures = {"percentiles": {}}
    for line in text.splitlines():
        if m := re.match(r"\s+(50|75|90|99)%\s+([\d.]+)(us|ms|s|m)\s*$", line):
            figures["percentiles"][m[1]] = seconds(m[2], m[3])
        elif m := re.match(r"\s+(\d+) requests in", line):
            figures["requests"] = int(m[1])
        elif m := re.match(r"Requests/sec:\s+([\d.]+)", line):
            figures["rps"] = float(m[1])
        elif m := re.match(r"\s+Non-2xx or 3xx responses:\s+(\d+)", line):
            figures["non_2xx"] = int(m[1])
        elif m := re.match(
            r"\s+Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", line
        ):
            figures["socket_errors"] = sum(int(x) for x in m.groups())
    return figures


def main() -> int:
    wrk = shutil.which("wrk")
    if wrk is None:
        raise SystemExit("wrk is not installed: apt-get install -y wrk")
    h.create_postgres_database(DATABASE, fresh=True)
    call_command("migrate", verbosity=0)
    cache.clear()
    user = make_user()
    cookie = h.session_cookie(user)
    path = reverse("customer-list")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    url = base + path
    workdir = Path(tempfile.mkdtemp(prefix="bench-throughput-"))
    access_log = workdir / "access.log"
    env = dict(
        os.environ,
        DATABASE_URL=DATABASE_URL,
        CACHE_URL=CACHE_URL,
        DJANGO_SETTINGS_MODULE="controlpanel.settings.test",
    )
    gunicorn = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "gunicorn"),
            "controlpanel.wsgi:application",
            f"--workers={ARGS.workers}",
            f"--bind=127.0.0.1:{port}",
            f"--access-logfile={access_log}",
            "--access-logformat=%(s)s",
            "--log-level=warning",
        ],
        cwd=ROOT,
        env=env,
    )
    try:
        wait_until_up(base, gunicorn)
        for _ in range(100):  # warm-up: both workers' templates, connections, the cache
            status, body = get(url, cookie)
            if status != 200 or b"Customers" not in body:
                raise SystemExit(f"warm-up: {url} answered {status}")
        access_log.write_text("")  # count only the measured requests
        run = subprocess.run(
            [
                wrk,
                f"--threads={ARGS.threads}",
                f"--connections={ARGS.connections}",
                f"--duration={ARGS.duration}s",
                "--timeout=5s",
                "--latency",
                "--header",
                f"Cookie: {cookie}",
                url,
            ],
            capture_output=True,
            text=True,
            timeout=ARGS.duration + 30,
            check=True,
        )
        time.sleep(0.5)  # let gunicorn flush its access log
        after = get(url, cookie)[0]
    finally:
        gunicorn.terminate()
        gunicorn.wait(timeout=30)
    statuses = access_log.read_text().split()
    not_ok = sum(1 for s in statuses if s != "200")
    shutil.rmtree(workdir)
    h.drop_postgres_database(DATABASE)

    figures = parse_wrk(run.stdout)
    errors = figures.get("non_2xx", 0) + figures.get("socket_errors", 0) + not_ok
    print(
        f"gunicorn {ARGS.workers} sync workers on 127.0.0.1; wrk {ARGS.threads} threads, "
        f"{ARGS.connections} connections, {ARGS.duration} s; page {path} (signed in, "
        "role user, 5 groups, IP whitelist), warm cache"
    )
    print(f"requests: {figures.get('requests')}  ({len(statuses)} in gunicorn's log)")
    print(f"requests/s: {figures.get('rps', 0):.1f}")
    print(
        "latency: " + ", ".join(f"p{k} {v * 1e3:.1f} ms" for k, v in figures["percentiles"].items())
    )
    print(
        f"errors: {errors} (wrk socket errors {figures.get('socket_errors', 0)}, "
        f"non-2xx/3xx {figures.get('non_2xx', 0)}, not 200 in the log {not_ok}); "
        f"a request after the run: {after}"
    )
    print(f"target: zero errors: {'met' if errors == 0 and after == 200 else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
