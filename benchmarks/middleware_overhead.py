"""Benchmark 2: the permission + whitelist middleware's overhead.

The same protected page is served through the full middleware stack and through the stack
with ``permissions.middleware.AccessMiddleware`` removed, straight through Django's WSGI
handler (no test client), in interleaved batches so both see the same machine state.
Target: ratio full/without at most 1.05.
Run: .venv/bin/python benchmarks/middleware_overhead.py [--requests 4000]
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
    with override_settings(MIDDLEWARE=[m for m in settings.MIDDLEWARE if m != ACCESS_MIDDLEWARE]):
        without = WSGIHandler()
    variants = {"full stack": full, "without access middleware": without}
    for handler in variants.values():  # warm-up: caches, templates, connections
        run(handler, environ_for, 50)
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
    print(f"{'variant':<28}{'requests':>9}{'median':>14}{'p99':>14}")
    for name, values in times.items():
        print(f"{name:<28}{len(values):>9}{us(median(values)):>14}{us(p99(values)):>14}")
    ratio = median(times["full stack"]) / median(times["without access middleware"])
    print(f"ratio full/without (median): {ratio:.3f}  (target <= 1.05)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=4000, help="per variant")
    args = parser.parse_args()
    with benchmark_database():
        main(args.requests)
