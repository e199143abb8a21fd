"""Benchmark 2: the permission + whitelist middleware's overhead.

The same protected page is served through the full middleware stack and through the stack
with ``permissions.middleware.AccessMiddleware`` replaced by ``LazyAccess`` below, straight
through Django's WSGI handler (no test client), in interleaved batches so both see the
same machine state. Target: ratio full/without at most 1.05.

Why ``LazyAccess`` and not a bare removal: the page itself needs the user's permissions
(the navigation, the list's buttons). With the middleware they are resolved once and kept
on ``request.access``; with the middleware simply removed, every place that asks
(``permissions.resolver.access_of``) resolves them again (three cache reads instead of
one), so "without" did more work than "with". ``LazyAccess`` resolves them at most once,
on first use, as the page asks; what is left between the two variants is exactly the
middleware's own work: the IP whitelist check, the URL's declaration, can() and the
refusal audit hook. The script prints the cache reads and queries per request of both
variants, so that this stays checked.

Run: DATABASE_URL=postgres://…/NAME?conn_max_age=60 CACHE_URL=redis://…/N \
     .venv/bin/python benchmarks/middleware_overhead.py [--requests 4000]
"""

import argparse
import io
import random
import time

from _harness import benchmark_database, database_label, median, p99, us
from django.core.cache import caches
from django.core.handlers.wsgi import WSGIHandler
from django.test import Client, override_settings
from django.urls import NoReverseMatch, reverse

ACCESS_MIDDLEWARE = "permissions.middleware.AccessMiddleware"
LAZY_ACCESS = "middleware_overhead.LazyAccess"


class LazyAccess:
    """Stands in for the access middleware in the "without" variant: no checks at all;
    ``request.access`` resolved once, when the page first asks for it."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        from django.utils.functional import SimpleLazyObject

        from permissions.resolver import effective_permissions

        user = request.user
        request.access = SimpleLazyObject(lambda: effective_permissions(user))
        return self.get_response(request)


def per_request(handler, environ_for) -> tuple[int, int]:
    """(cache reads, queries) of one request through ``handler``."""
    from django.core.cache import cache
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    reads = 0
    original_get, original_get_many = cache.get, cache.get_many

    def counting_get(*args, **kwargs):
        nonlocal reads
        reads += 1
        return original_get(*args, **kwargs)

    def counting_get_many(*args, **kwargs):
        nonlocal reads
        reads += 1
        return original_get_many(*args, **kwargs)

    cache.get, cache.get_many = counting_get, counting_get_many
    try:
        with CaptureQueriesContext(connection) as queries:
            run(handler, environ_for, 1)
    finally:
        del cache.get, cache.get_many
    return reads, len(queries)


def page_path() -> str:
    for name in ("customer-list", "user-list"):
        try:
            return reverse(name)
        except NoReverseMatch:
            continue
    return reverse("dashboard")


def make_user():
    from accounts.ipwhitelist import parse_whitelist, stored_whitelist
    from accounts.models import Role, User
    from controlpanel.kit.areas import all_areas, mask_of
    from permissions.models import Group, Rule

    groups = [Group.objects.create(name=f"Bench {i}") for i in range(5)]
    for g in groups:
        for area in all_areas():
            Rule.objects.create(group=g, area=area.key, actions=mask_of(["read"]))
    user = User.objects.create_user("bench@example.com", None, role=Role.USER)
    user.ip_whitelist = stored_whitelist(parse_whitelist(["127.0.0.1", "10.", "192.168.0.0/16"]))
    user.save()
    user.access_groups.set(groups)
    return user


def run(handler, environ_for, n):
    times = []
    statuses = []

    def start_response(status, headers, exc_info=None):
        statuses.append(status)

    for _ in range(n):
        environ = environ_for()
        start = time.perf_counter()
        response = handler(environ, start_response)
        b"".join(response)
        response.close()
        times.append(time.perf_counter() - start)
        assert statuses[-1].startswith("200"), statuses[-1]
    return times


def main(total: int) -> None:
    from django.conf import settings

    user = make_user()
    client = Client()
    client.force_login(user)
    cookie = f"sessionid={client.cookies['sessionid'].value}"
    path = page_path()

    def environ_for():
        return {
            "REQUEST_METHOD": "GET",
            "PATH_INFO": path,
            "SCRIPT_NAME": "",
            "QUERY_STRING": "",
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

    full = WSGIHandler()
    assert ACCESS_MIDDLEWARE in settings.MIDDLEWARE
    replaced = [LAZY_ACCESS if m == ACCESS_MIDDLEWARE else m for m in settings.MIDDLEWARE]
    with override_settings(MIDDLEWARE=replaced):
        without = WSGIHandler()
    variants = {"full stack": full, "without access middleware": without}
    for handler in variants.values():  # warm-up: caches, templates, connections
        run(handler, environ_for, 50)
    costs = {name: per_request(handler, environ_for) for name, handler in variants.items()}
    times = {name: [] for name in variants}
    batch = 50
    rng = random.Random(1)
    for _ in range(total // batch):
        order = list(variants)
        rng.shuffle(order)
        for name in order:
            times[name] += run(variants[name], environ_for, batch)
    print(
        f"database: {database_label()}, cache: {caches['default'].__class__.__name__}, page: {path}"
    )
    print(
        f"{'variant':<28}{'requests':>9}{'median':>14}{'p99':>14}{'cache reads':>13}{'queries':>9}"
    )
    for name, values in times.items():
        reads, queries = costs[name]
        print(
            f"{name:<28}{len(values):>9}{us(median(values)):>14}{us(p99(values)):>14}"
            f"{reads:>13}{queries:>9}"
        )
    if costs["full stack"] != costs["without access middleware"]:
        print("note: the variants differ in cache reads or queries (see above)")
    ratio = median(times["full stack"]) / median(times["without access middleware"])
    print(f"ratio full/without (median): {ratio:.3f}  (target <= 1.05)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=4000, help="per variant")
    args = parser.parse_args()
    with benchmark_database():
        main(args.requests)
