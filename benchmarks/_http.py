"""Real HTTP for the benchmarks: start gunicorn on 127.0.0.1, sign in through the login
form (GET it, POST it back with its CSRF token), and time GETs on a keep-alive
connection (``http.client``). No Django import here: the server runs in its own
processes; this side is a plain HTTP client."""

from __future__ import annotations

import http.client
import os
import re
import socket
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
GUNICORN = str(Path(sys.executable).parent / "gunicorn")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_gunicorn(settings: str, env: dict, workers: int, *, access_log: str = "") -> tuple:
    """(process, port) of gunicorn serving Django with ``settings``; waits until it answers."""
    port = free_port()
    full_env = dict(os.environ, **env, DJANGO_SETTINGS_MODULE=settings)
    full_env["PYTHONPATH"] = os.pathsep.join([str(HERE), str(ROOT)])
    command = [
        GUNICORN,
        "django.core.wsgi:get_wsgi_application()",
        f"--workers={workers}",
        f"--bind=127.0.0.1:{port}",
        "--log-level=warning",
    ]
    if access_log:
        command += [f"--access-logfile={access_log}", "--access-logformat=%(s)s"]
    process = subprocess.Popen(command, cwd=ROOT, env=full_env)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"gunicorn ({settings}) stopped (exit {process.returncode})")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return process, port
        except OSError:
            time.sleep(0.2)
    process.terminate()
    raise SystemExit(f"gunicorn ({settings}) did not answer within 60 s")


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()


class Browser:
    """One keep-alive connection with a cookie jar (enough for Django's cookies)."""

    def __init__(self, port: int):
        self.port = port
        self.cookies: dict[str, str] = {}
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

    def _headers(self, extra=None) -> dict:
        headers = {"Host": f"127.0.0.1:{self.port}", "Connection": "keep-alive"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        headers.update(extra or {})
        return headers

    def request(self, method: str, url: str, body: bytes | None = None, headers=None):
        """(status, body bytes, seconds): the time from sending to the last byte read."""
        start = time.perf_counter()
        try:
            self.connection.request(method, url, body=body, headers=self._headers(headers))
            response = self.connection.getresponse()
        except (http.client.HTTPException, OSError):
            self.connection.close()  # the server closed a kept-alive connection: once more
            self.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
            start = time.perf_counter()
            self.connection.request(method, url, body=body, headers=self._headers(headers))
            response = self.connection.getresponse()
        data = response.read()
        seconds = time.perf_counter() - start
        for header, value in response.getheaders():
            if header.lower() == "set-cookie":
                name, _, rest = value.partition("=")
                self.cookies[name.strip()] = rest.split(";", 1)[0]
        return response.status, data, seconds, response.getheader("Location", "")

    def get(self, url: str):
        return self.request("GET", url)

    def login(self, login_url: str, fields: dict, *, next_url: str = "") -> None:
        """GET the form, POST it back with its CSRF token; SystemExit unless signed in."""
        status, body, _, _ = self.get(login_url)
        match = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', body)
        if status != 200 or match is None:
            raise SystemExit(f"{login_url}: no login form (status {status})")
        form = dict(fields, csrfmiddlewaretoken=match[1].decode())
        if next_url:
            form["next"] = next_url
        status, _, _, _ = self.request(
            "POST",
            login_url,
            urllib.parse.urlencode(form).encode(),
            {
                "Content-Type": "application/x-www-form-urlencoded",
                "Referer": f"http://127.0.0.1:{self.port}{login_url}",
                "Origin": f"http://127.0.0.1:{self.port}",
            },
        )
        if status != 302:
            raise SystemExit(f"{login_url}: sign-in refused (status {status})")


def url(path: str, query: str) -> str:
    return f"{path}?{query}" if query else path
