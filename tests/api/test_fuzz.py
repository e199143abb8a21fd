"""The API fuzzed against its own OpenAPI schema (schemathesis): whatever a client sends
that the schema allows, or almost allows, the answer is never a server error."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.core import NOT_SET

pytestmark = pytest.mark.django_db

EXAMPLES = 150


def _request(api, case):
    path = case.formatted_path
    query = urlencode(case.query or {}, doseq=True)
    if query:
        path = f"{path}?{query}"
    body = None if case.body is NOT_SET else case.body
    return api.call(case.method.upper(), path, body)


def _fuzz(api, *, examples: int) -> None:
    schema = schemathesis.openapi.from_dict(api.get("/api/cp/schema").json())
    cases = st.one_of(
        schema.as_strategy(schemathesis.GenerationMode.POSITIVE),
        schema.as_strategy(schemathesis.GenerationMode.NEGATIVE),
        schema.as_strategy(schemathesis.GenerationMode.POSITIVE, path_parameters={"id": 1}),
    )

    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=cases)
    def no_server_error(case):
        response = _request(api, case)
        assert response.status_code < 500, (case.method, case.formatted_path, case.body)

    no_server_error()


def test_fuzzing_as_an_administrator_finds_no_server_error(api_as, admin, mine, theirs):
    _fuzz(api_as(admin), examples=EXAMPLES)


def test_fuzzing_as_a_resellers_user_finds_no_server_error(api_as, member, reseller, mine, theirs):
    rosa = member(reseller=reseller, email="rosa@acme.example")
    _fuzz(api_as(rosa), examples=EXAMPLES // 2)
