"""Several app servers side by side: two gunicorn instances on loopback share PostgreSQL
and a Redis. A group's rules changed through one are enforced by the other on its very
next request; with Redis stopped both fall back to the database and grant nothing more.

Runs on the PostgreSQL + Redis leg of CI (skipped on SQLite: the servers need a database
they can share with the test)."""

import http.cookiejar
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from controlpanel.kit.areas import mask_of
from permissions.models import Rule
from tests.factories import TEST_PASSWORD, AdminFactory, GroupFactory, UserFactory

ROOT = Path(__file__).resolve().parent.parent
pytestmark = [pytest.mark.multiserver, pytest.mark.django_db(transaction=True)]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_up(url: str, process: subprocess.Popen, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited: {process.stdout.read().decode()[-2000:]}")
        try:
            urllib.request.urlopen(url, timeout=1).read()
            return
        except (urllib.error.URLError, ConnectionError, OSError):
            time.sleep(0.2)
    raise TimeoutError(url)


class Browser:
    """A cookie-keeping HTTP client for one user against one server."""

    def __init__(self, base: str):
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.jar), NoRedirect()
        )

    def request(self, path: str, data: dict | None = None, base: str | None = None) -> int:
        body = None
        headers = {}
        if data is not None:
            data = {**data, "csrfmiddlewaretoken": self.csrf()}
            body = urllib.parse.urlencode(data, doseq=True).encode()
            headers["Referer"] = (base or self.base) + path
        req = urllib.request.Request((base or self.base) + path, data=body, headers=headers)
        try:
            with self.opener.open(req, timeout=10) as response:
                return response.status
        except urllib.error.HTTPError as error:
            return error.code

    def csrf(self) -> str:
        for cookie in self.jar:
            if cookie.name == "csrftoken":
                return cookie.value
        raise LookupError("no CSRF cookie yet")

    def sign_in(self, email: str) -> None:
        self.request("/accounts/login/")
        status = self.request("/accounts/login/", {"email": email, "password": TEST_PASSWORD})
        assert status == 302, f"login of {email} answered {status}"


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


@pytest.fixture
def stack():
    if (
        connection.vendor != "postgresql"
        or "redis" not in settings.CACHES["default"]["BACKEND"].lower()
    ):
        pytest.skip("needs PostgreSQL and Redis (DATABASE_URL and CACHE_URL)")
    redis_server = shutil.which("redis-server")
    if not redis_server:
        pytest.skip("redis-server is not installed")
    redis_port = free_port()
    redis = subprocess.Popen(
        [
            redis_server,
            "--port",
            str(redis_port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    db = settings.DATABASES["default"]
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "controlpanel.settings.test",
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "CACHE_URL": f"redis://127.0.0.1:{redis_port}/0",
    }
    servers = []
    try:
        for _ in range(2):
            port = free_port()
            process = subprocess.Popen(
                [
                    str(Path(sys.executable).parent / "gunicorn"),
                    "controlpanel.wsgi",
                    "--bind",
                    f"127.0.0.1:{port}",
                    "--workers",
                    "1",
                    "--timeout",
                    "30",
                ],
                cwd=ROOT,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
            )
            servers.append((f"http://127.0.0.1:{port}", process))
        for url, process in servers:
            wait_until_up(url + "/healthz", process)
        yield [url for url, _ in servers], redis
    finally:
        for _, process in servers:
            process.terminate()
            process.wait(10)
        if redis.poll() is None:
            redis.terminate()
            redis.wait(10)


def test_a_rule_changed_on_one_server_is_enforced_by_the_other_and_redis_loss_grants_nothing(stack):
    (server_a, server_b), redis = stack
    admin = AdminFactory(email="ops-admin@example.com")
    group = GroupFactory(name="Operators")
    Rule.objects.create(group=group, area="customer", actions=mask_of(["read"]))
    Rule.objects.create(group=group, area="carrier", actions=mask_of(["read"]))
    member = UserFactory(email="operator@example.com", groups=[group])

    operator = Browser(server_b)
    operator.sign_in(member.email)
    assert operator.request("/customers/") == 200
    assert operator.request("/customers/", base=server_a) == 200  # both servers warm

    administrator = Browser(server_a)
    administrator.sign_in(admin.email)
    status = administrator.request(
        f"/settings/groups/{group.pk}/rules/new/",
        {"area": "customer", "access": ["read"], "effect": "deny"},
    )
    assert status == 302
    assert operator.request("/customers/") == 403  # server B, the very next request
    assert operator.request("/carriers/") == 200

    redis.terminate()
    redis.wait(10)
    for base in (server_a, server_b):
        assert operator.request("/customers/", base=base) == 403
        assert operator.request("/carriers/", base=base) == 200
        assert operator.request("/billing/", base=base) == 403
