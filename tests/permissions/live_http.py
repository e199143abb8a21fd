"""Real HTTP against ``live_server``: any method (PROPFIND included), real headers, a
session cookie and a CSRF cookie with its header, as a browser or a script would send."""

from __future__ import annotations

import http.client
import json
import urllib.parse
from dataclasses import dataclass, field

from django.conf import settings
from django.middleware.csrf import _get_new_csrf_string
from django.test import Client


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode(errors="replace")

    def json(self):
        return json.loads(self.body)


@dataclass
class Browser:
    """One HTTP client with its cookies. ``headers`` ride along on every request."""

    base_url: str
    headers: dict[str, str] = field(default_factory=dict)
    cookies: dict[str, str] = field(default_factory=dict)

    def __post_init__(self):
        self.csrf = _get_new_csrf_string()
        self.cookies.setdefault(settings.CSRF_COOKIE_NAME, self.csrf)

    def signed_in_as(self, user) -> Browser:
        """Sign in without the login form (the session a login would make)."""
        client = Client()
        client.force_login(user)
        self.cookies[settings.SESSION_COOKIE_NAME] = client.cookies[
            settings.SESSION_COOKIE_NAME
        ].value
        return self

    @property
    def session_key(self) -> str | None:
        return self.cookies.get(settings.SESSION_COOKIE_NAME) or None

    def request(self, method: str, path: str, *, form=None, data=None, headers=None) -> Answer:
        url = urllib.parse.urlsplit(self.base_url)
        connection = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
        sent = {
            **self.headers,
            "X-CSRFToken": self.csrf,
            "Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items() if v),
            **(headers or {}),
        }
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form, doseq=True)
            sent["Content-Type"] = "application/x-www-form-urlencoded"
        elif data is not None:
            body = json.dumps(data)
            sent["Content-Type"] = "application/json"
        connection.request(method, path, body=body, headers=sent)
        response = connection.getresponse()
        answer = Answer(response.status, dict(response.getheaders()), response.read())
        for header, value in response.getheaders():
            if header.lower() == "set-cookie":
                name, _, rest = value.partition("=")
                self.cookies[name.strip()] = rest.split(";", 1)[0].strip('"')
        connection.close()
        return answer
