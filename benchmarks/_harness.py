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
