"""The API's cast: the fixed users of tests/conftest.py, each calling the API with a
personal token (or a session), and two resellers' worlds of business rows."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from accounts.api_tokens import api_token_create
from controlpanel.kit.areas import ACTIONS, mask_of
from permissions.models import Rule

# One reseller's rows in every area: the same world the page tests use.
from tests.areas.conftest import mine, other_reseller, theirs  # noqa: F401
from tests.factories import GroupFactory, UserFactory

LOCAL = "127.0.0.1"
JSON = "application/json"


class Api:
    """Calls the API as one client: with a bearer token (no cookies), or through a signed-in
    test client's session."""

    def __init__(
        self, token: str | None = None, *, client: Client | None = None, address: str = LOCAL
    ):
        self.token = token
        self.client = client or Client()
        self.address = address

    def call(self, method: str, path: str, data=None, *, content_type=JSON, **extra):
        """``data`` is sent as JSON, or as it is when it is already bytes."""
        headers = {"REMOTE_ADDR": self.address, **extra}
        if self.token is not None:
            headers["HTTP_AUTHORIZATION"] = f"Bearer {self.token}"
        body = data if isinstance(data, bytes) else "" if data is None else json.dumps(data)
        return self.client.generic(method, path, body, content_type=content_type, **headers)

    def get(self, path, **extra):
        return self.call("GET", path, **extra)

    def post(self, path, data=None, **extra):
        return self.call("POST", path, data, **extra)

    def put(self, path, data=None, **extra):
        return self.call("PUT", path, data, **extra)

    def patch(self, path, data=None, **extra):
        return self.call("PATCH", path, data, **extra)

    def delete(self, path, **extra):
        return self.call("DELETE", path, **extra)


def make_token(user, **kwargs) -> str:
    __, raw = api_token_create(user=user, name=kwargs.pop("name", "test"), address=None, **kwargs)
    return raw


@pytest.fixture
def api_as(db):
    """``api_as(user)``: an API client with a fresh personal token of ``user``."""

    def make(user, *, address: str = LOCAL, **token_options) -> Api:
        return Api(make_token(user, **token_options), address=address)

    return make


@pytest.fixture
def member(db):
    """``member(allow={area: [actions]}, reseller=…)``: a user whose one group grants
    exactly ``allow`` (every action on every area when ``allow`` is None)."""

    def make(*, allow=None, reseller=None, email=None):
        group = GroupFactory(defaults=mask_of(ACTIONS))
        for area, actions in (allow or {}).items():
            Rule.objects.create(group=group, area=area, actions=mask_of(actions))
        extra = {"email": email} if email else {}
        return UserFactory(groups=[group], reseller=reseller, **extra)

    return make
