"""Shared set-up for the benchmark scripts: Django with a fresh, throw-away database
(SQLite by default, PostgreSQL/Redis when DATABASE_URL/CACHE_URL are set), and small
timing helpers. Benchmarks print figures and ratios measured in one run."""

from __future__ import annotations

import contextlib
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "controlpanel.settings.test")
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402


@contextlib.contextmanager
def benchmark_database(keepdb: bool = False):
    """A fresh test database (``test_<name>``), destroyed afterwards unless keepdb."""
    setup_test_environment()
    old_name = connection.settings_dict["NAME"]
    connection.creation.create_test_db(
        verbosity=0, autoclobber=True, keepdb=keepdb, serialize=False
    )
    try:
        yield
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0, keepdb=keepdb)


def timed(fn, repeat: int) -> list[float]:
    """Seconds per call, one figure per call."""
    out = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        out.append(time.perf_counter() - start)
    return out


def us(seconds: float) -> str:
    return f"{seconds * 1e6:9.2f} µs"


def ms(seconds: float) -> str:
    return f"{seconds * 1e3:9.2f} ms"


def median(values) -> float:
    return statistics.median(values)


def p99(values) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


def database_label() -> str:
    return f"{connection.vendor} ({connection.settings_dict['NAME']})"


# --- Persistent PostgreSQL databases and in-process requests (peer, scale, throughput) ---

POSTGRES = "postgres://postgres@127.0.0.1:5432/"
BENCH_CACHE_URL = "redis://127.0.0.1:6379/5"  # db 0 belongs to the test suite


def _admin_sql(sql: str, *params):
    """Run one statement on the server's ``postgres`` database (autocommit)."""
    import psycopg

    settings = connection.settings_dict
    with psycopg.connect(
        host=settings["HOST"] or "127.0.0.1",
        port=settings["PORT"] or 5432,
        user=settings["USER"] or "postgres",
        dbname="postgres",
        autocommit=True,
    ) as admin:
        cursor = admin.execute(sql, params)
        return cursor.fetchall() if sql.startswith("SELECT") else None


def postgres_database_exists(name: str) -> bool:
    return bool(_admin_sql("SELECT 1 FROM pg_database WHERE datname = %s", name))


def create_postgres_database(name: str, *, fresh: bool) -> bool:
    """Create ``name`` (dropped first when ``fresh``); True when it was created now."""
    if name in ("test", "test_test", "postgres"):
        raise SystemExit(f"refusing to touch the database {name!r}")
    connection.close()
    if fresh:
        _admin_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    if postgres_database_exists(name):
        return False
    _admin_sql(f'CREATE DATABASE "{name}"')
    return True


def drop_postgres_database(name: str) -> None:
    if name in ("test", "test_test", "postgres"):
        raise SystemExit(f"refusing to touch the database {name!r}")
    connection.close()
    _admin_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def wsgi_environ(path: str, query: str = "", cookie: str = "") -> dict:
    import io

    return {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": path,
        "SCRIPT_NAME": "",
        "QUERY_STRING": query,
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_HOST": "127.0.0.1",
        "HTTP_COOKIE": cookie,
        "REMOTE_ADDR": "127.0.0.1",
        "wsgi.input": io.BytesIO(b""),
        "wsgi.url_scheme": "http",
        "wsgi.errors": io.StringIO(),
    }


def wsgi_get(handler, path: str, query: str = "", cookie: str = "") -> tuple[float, str, bytes]:
    """One GET straight through Django's WSGI handler: (seconds, status, body)."""
    statuses = []

    def start_response(status, headers, exc_info=None):
        statuses.append(status)

    environ = wsgi_environ(path, query, cookie)
    start = time.perf_counter()
    response = handler(environ, start_response)
    body = b"".join(response)
    response.close()
    return time.perf_counter() - start, statuses[-1], body


def session_cookie(user) -> str:
    """A ``Cookie`` header value for a signed-in session of ``user``."""
    from django.conf import settings
    from django.test import Client

    client = Client()
    client.force_login(user)
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"


def prepare_panel_data(users: int, groups: int, rules: int, *, stream=sys.stderr) -> float:
    """Migrate the configured database and fill it with ``generate_access_data.generate`` unless
    it already holds that data (the command is atomic, so present means complete).
    Returns the seconds spent generating (0 when reused)."""
    from django.core.management import call_command

    from permissions.models import Group

    call_command("migrate", verbosity=0)
    if Group.objects.filter(name__startswith="Bench group ").exists():
        return 0.0
    start = time.perf_counter()
    from generate_access_data import generate  # beside this file, on the scripts' path

    print(generate(users=users, groups=groups, rules=rules, stream=stream), file=stream)
    return time.perf_counter() - start


def bench_actors():
    """An administrator and a user who reads users through a group rule (the resolver
    decides), created once per database. Returns (administrator, reader)."""
    from accounts.models import Role, User
    from controlpanel.kit.areas import mask_of
    from permissions.models import Group, Rule

    admin = User.objects.filter(email="zz-bench-admin@example.org").first()
    if admin is None:
        admin = User.objects.create_user("zz-bench-admin@example.org", None)
    reader = User.objects.filter(email="zz-bench-reader@example.org").first()
    if reader is None:
        reader = User.objects.create_user("zz-bench-reader@example.org", None, role=Role.USER)
        group = Group.objects.create(name="Benchmark user readers", defaults=0)
        Rule.objects.create(group=group, area="user", actions=mask_of(["read"]))
        reader.access_groups.add(group)
    return admin, reader
