"""The kit's Redis cache: Django's backend, one Redis client object per pool."""

import socket
import uuid

import pytest
from django.core.cache import caches
from django.test import override_settings


def redis_reachable() -> bool:
    try:
        socket.create_connection(("127.0.0.1", 6379), timeout=0.5).close()
    except OSError:
        return False
    return True


@pytest.mark.skipif(not redis_reachable(), reason="no Redis on 127.0.0.1:6379")
def test_values_round_trip_and_the_client_is_built_once():
    settings = {
        "default": {
            "BACKEND": "controlpanel.kit.cache.RedisCache",
            "LOCATION": "redis://127.0.0.1:6379/15",
        }
    }
    with override_settings(CACHES=settings):
        cache = caches.create_connection("default")
        key = f"kit-cache-{uuid.uuid4()}"
        cache.set(key, {"a": 1}, 30)
        assert cache.get(key) == {"a": 1}
        assert cache.get_many([key, "missing"]) == {key: {"a": 1}}
        first = cache._cache.get_client(key)
        assert cache._cache.get_client("another key") is first
        assert cache._cache.get_client(key, write=True) is first  # one server: one pool
        cache.delete(key)
        assert cache.get(key) is None
