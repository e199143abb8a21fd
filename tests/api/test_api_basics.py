"""What every endpoint shares: the paths, the declarations the middleware decides on,
the JSON error shapes, throttling, the schema and the docs page."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client, override_settings
from django.urls import URLPattern, URLResolver, get_resolver

from controlpanel.api.throttling import PerUserThrottle
from controlpanel.kit.areas import ACTIONS, all_areas
from controlpanel.kit.declarations import AreaByMethod, SelfService, declaration_of

from .conftest import Api, make_token

pytestmark = pytest.mark.django_db


def _api_patterns(patterns, prefix=""):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _api_patterns(pattern.url_patterns, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern) and prefix.startswith("api/"):
            yield prefix + str(pattern.pattern), pattern.callback


def test_every_area_has_its_two_endpoints_declared_for_its_area():
    routes = dict(_api_patterns(get_resolver().url_patterns))
    for area in all_areas():
        for route in (f"api/cp/{area.key}", f"api/cp/{area.key}/<int:pk>"):
            declaration = declaration_of(routes[route])
            assert isinstance(declaration, AreaByMethod), route
            assert declaration.area == area.key


def test_the_schema_and_docs_are_self_service():
    routes = dict(_api_patterns(get_resolver().url_patterns))
    assert isinstance(declaration_of(routes["api/cp/schema"]), SelfService)


@pytest.mark.parametrize(
    ("method", "action"),
    [
        ("GET", "read"),
        ("HEAD", "read"),
        ("OPTIONS", "read"),
        ("POST", "create"),
        ("PUT", "update"),
        ("PATCH", "update"),
        ("DELETE", "delete"),
    ],
)
def test_the_method_decides_the_action(method, action, member, mine):
    user = member(allow={"carrier": [a for a in ACTIONS if a != action]})
    path = "/api/cp/carrier" if method == "POST" else f"/api/cp/carrier/{mine.carrier.pk}"
    response = Api(make_token(user)).call(method, path, {})
    assert response.status_code == 403
    if method != "HEAD":  # a HEAD answer has no body
        assert response.json()["action"] == action


def test_paths_have_no_trailing_slash(api_as, admin):
    api = api_as(admin)
    assert api.get("/api/cp/customer").status_code == 200
    assert api.get("/api/cp/customer/").status_code == 404


def test_head_and_options_answer_as_reads(api_as, admin, mine):
    api = api_as(admin)
    head = api.call("HEAD", f"/api/cp/customer/{mine.customer.pk}")
    assert head.status_code == 200
    assert head.content == b""
    options = api.call("OPTIONS", "/api/cp/customer")
    assert options.status_code == 200
    assert options.json()["schema"].endswith("/api/cp/schema")


def test_a_missing_row_is_a_json_404(api_as, admin):
    response = api_as(admin).get("/api/cp/customer/999999")
    assert response.status_code == 404
    assert "detail" in response.json()


def test_a_body_that_is_not_json_is_a_400(api_as, admin):
    response = api_as(admin).post("/api/cp/customer", b"{not json")
    assert response.status_code == 400
    assert "JSON" in response.json()["detail"]


def test_only_json_is_accepted(api_as, admin):
    response = api_as(admin).post("/api/cp/customer", b"name=x", content_type="text/plain")
    assert response.status_code == 415


def test_requests_beyond_the_rate_are_throttled(api_as, admin):
    rest = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"user": "3/minute"}}
    api = api_as(admin)
    with override_settings(REST_FRAMEWORK=rest):
        answers = [api.get("/api/cp/carrier").status_code for _ in range(4)]
        assert answers == [200, 200, 200, 429]
        throttled = api.get("/api/cp/carrier")
    assert throttled.status_code == 429
    assert int(throttled["Retry-After"]) > 0
    assert "throttled" in throttled.json()["detail"]


def test_the_rate_is_per_user(api_as, admin, staff):
    rest = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"user": "1/minute"}}
    with override_settings(REST_FRAMEWORK=rest):
        assert api_as(admin).get("/api/cp/carrier").status_code == 200
        assert api_as(admin).get("/api/cp/carrier").status_code == 429  # another token, same user
        assert api_as(staff).get("/api/cp/carrier").status_code == 200


# --- Schema and docs -----------------------------------------------------------------------


def test_the_schema_describes_every_area_for_anyone_signed_in(api_as, outsider):
    response = api_as(outsider).get("/api/cp/schema")
    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    for area in all_areas():
        assert area.api_path in schema["paths"]
        assert f"{area.api_path}/{{id}}" in schema["paths"]
    assert "post" not in schema["paths"]["/api/cp/cdr"]
    assert "post" not in schema["paths"]["/api/cp/audit-log"]
    customer_create = schema["paths"]["/api/cp/customer"]["post"]
    assert "**create** on `customer`" in customer_create["description"]
    assert schema["components"]["securitySchemes"]["tokenAuth"]["scheme"] == "bearer"
    assert "/api/cp/schema" not in schema["paths"]


def test_the_schema_is_also_yaml(api_as, outsider):
    response = api_as(outsider).get("/api/cp/schema?format=yaml")
    assert response.status_code == 200
    assert response.content.startswith(b"openapi: 3.")


def test_the_schema_needs_a_sign_in(db):
    assert Client().get("/api/cp/schema").status_code == 401


def test_the_user_schema_has_no_secrets(api_as, admin):
    schema = api_as(admin).get("/api/cp/schema").json()
    shown = schema["components"]["schemas"]["User"]["properties"]
    assert not {"password", "session_version", "access_version"} & set(shown)


def test_the_docs_page_lists_every_area_and_how_to_authenticate(client_as, staff):
    response = client_as(staff).get("/api/docs")
    assert response.status_code == 200
    page = response.content.decode()
    for area in all_areas():
        assert area.api_path in page
        assert area.label in page
    assert "Authorization: Bearer" in page
    assert "curl" in page
    assert "<script" not in page and "cdn" not in page.lower()


def test_the_docs_page_shows_what_the_reader_holds(client_as, staff):
    page = client_as(staff).get("/api/docs").content.decode()
    routing = page.split('id="area-routing"')[1].split("</section>")[0]
    assert routing.count("pill--ok") == 4  # create, read, update, delete
    customer = page.split('id="area-customer"')[1].split("</section>")[0]
    assert "nothing" in customer


class _BrokenCache:
    def get(self, *args, **kwargs):
        raise ConnectionError("cache down")

    set = get


def test_a_cache_outage_does_not_turn_api_requests_into_errors(api_as, admin, monkeypatch):
    monkeypatch.setattr(PerUserThrottle, "cache", _BrokenCache())
    assert api_as(admin).get("/api/cp/carrier").status_code == 200


def test_a_malformed_api_url_answers_json_404(client_as, admin):
    response = client_as(admin).get("/api/cp/customer/abc")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}


def test_the_api_docs_page_sends_anonymous_visitors_to_sign_in(client):
    response = client.get("/api/docs")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
