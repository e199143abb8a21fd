"""HTTP methods: a declaration says which methods reach its view and which action each
needs; a method it does not map, or one the panel does not answer at all, gets 405 before
any view runs. Over real HTTP: PROPFIND and friends are sent as a script would send them."""

import re

import pytest
from django.apps import apps
from django.urls import URLPattern, URLResolver, get_resolver

from controlpanel.audit.models import AuditEntry
from controlpanel.kit.areas import ACTIONS, mask_of
from controlpanel.kit.declarations import (
    WRITE_ACTIONS,
    WRITE_METHODS,
    AreaAction,
    AreaByMethod,
    Public,
    SelfService,
    declaration_of,
    requires,
)
from permissions.models import AccessReview, Rule
from tests.factories import GroupFactory, UserFactory

from .live_http import Browser

pytestmark = pytest.mark.django_db(transaction=True)

SAFE = ["GET", "HEAD", "OPTIONS"]
UNKNOWN = ["PROPFIND", "PROPPATCH", "MKCOL", "TRACE", "LINK"]
EVERY_METHOD = SAFE + list(WRITE_METHODS) + UNKNOWN
_CONVERTER = re.compile(r"<(?:(\w+):)?(\w+)>")


def walk(patterns, prefix=""):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from walk(pattern.url_patterns, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            yield prefix + str(pattern.pattern), pattern.callback


def example_path(route: str) -> str:
    """A path the pattern matches: ``<int:pk>`` → 1, any other converter → ``x``."""
    path = _CONVERTER.sub(lambda m: "1" if m.group(1) == "int" else "x", route)
    return "/" + path.lstrip("^").rstrip("$")


def every_pattern():
    return [
        (example_path(route), declaration_of(view))
        for route, view in walk(get_resolver().url_patterns)
    ]


@pytest.fixture
def reader(db):
    """Reads every area, may change nothing (a group whose defaults are read only)."""
    return UserFactory(
        email="rory@example.com", groups=[GroupFactory(name="Readers", defaults=mask_of(["read"]))]
    )


def row_counts() -> dict[str, int]:
    # Sessions and their activity change as any request does; the two-factor setup page
    # (self-service, about oneself) makes the user's unconfirmed device when it is opened.
    ignored = {"auditentry", "session", "usersession", "totpdevice"}
    return {
        model._meta.label: model.objects.count()
        for model in apps.get_models()
        if model._meta.model_name not in ignored and not model._meta.label.startswith("axes.")
    }


# --- Declarations -------------------------------------------------------------------------


def test_no_declaration_maps_a_writing_method_to_read():
    for path, declaration in every_pattern():
        if isinstance(declaration, AreaAction | AreaByMethod):
            for method in WRITE_METHODS:
                assert declaration.action_for(method) in (None, *WRITE_ACTIONS), (path, method)


def test_no_declaration_maps_a_method_the_panel_does_not_answer():
    for path, declaration in every_pattern():
        if isinstance(declaration, AreaAction | AreaByMethod):
            for method in UNKNOWN:
                assert declaration.action_for(method) is None, (path, method)


def test_a_read_declaration_that_accepts_a_writing_method_fails_at_import():
    with pytest.raises(ValueError, match="POST writes"):
        requires("user", "read", methods=["GET", "POST"])
    with pytest.raises(ValueError, match="Unknown"):
        requires("user", "read", methods=["PROPFIND"])


def test_a_page_declaration_states_its_methods():
    assert requires("user", "read")(lambda r: r).access_declaration.methods == ("GET", "HEAD")
    update = requires("user", "update", methods=["POST"])(lambda r: r).access_declaration
    assert (update.action_for("POST"), update.action_for("GET")) == ("update", None)
    assert set(ACTIONS) >= set(WRITE_ACTIONS)


# --- Every URL pattern, every method, over HTTP -------------------------------------------


def test_every_pattern_answers_unknown_methods_405_and_never_writes_for_a_reader(
    live_server, reader
):
    browser = Browser(live_server.url).signed_in_as(reader)
    before = row_counts()
    reached = []
    for path, declaration in every_pattern():
        area_declared = isinstance(declaration, AreaAction | AreaByMethod)
        for method in EVERY_METHOD:
            if method in WRITE_METHODS and isinstance(declaration, Public | SelfService):
                continue  # signing out, own tokens: writes anyone may make about themselves
            answer = browser.request(method, path, form={} if method == "POST" else None)
            if method in UNKNOWN:
                assert answer.status == 405, (method, path, answer.status)
                assert "ACME" not in answer.text
            elif method in WRITE_METHODS and area_declared and answer.status not in (403, 405):
                reached.append((method, path, answer.status))
    assert reached == []  # a reader's write never reaches a view
    assert row_counts() == before
    assert not AuditEntry.objects.filter(actor=reader).exclude(action="refused").exists()
    assert browser.session_key is not None  # still signed in: nothing ended the session


def test_the_405_names_the_methods_the_declaration_accepts(live_server, reader):
    browser = Browser(live_server.url).signed_in_as(reader)
    page = browser.request("POST", "/settings/users/", form={})
    assert page.status == 405
    assert page.headers["Allow"] == "GET, HEAD"
    api = browser.request("PROPFIND", "/api/cp/customer", headers={"Depth": "1"})
    assert api.status == 405
    assert api.json() == {"detail": "Method PROPFIND not allowed."}


def test_recording_an_access_review_needs_update_on_users_not_read(live_server, reader):
    """It writes a review record: a reader's POST is refused (403), and audited."""
    browser = Browser(live_server.url).signed_in_as(reader)
    review_page = browser.request("GET", "/settings/access-review/")
    assert review_page.status == 200 and "Record this review" not in review_page.text
    answer = browser.request("POST", "/settings/access-review/record/", form={"stale_days": 90})
    assert answer.status == 403
    assert "update" in answer.text and "Users" in answer.text
    assert not AccessReview.objects.exists()
    assert AuditEntry.objects.filter(action="refused", actor=reader, object_id="user").exists()


def test_someone_who_may_update_users_records_an_access_review(live_server, db):
    group = GroupFactory(name="User editors", defaults=0)
    Rule.objects.create(group=group, area="user", actions=mask_of(["read", "update"]))
    editor = UserFactory(email="eddie@example.com", groups=[group])
    browser = Browser(live_server.url).signed_in_as(editor)
    assert "Record this review" in browser.request("GET", "/settings/access-review/").text
    answer = browser.request("POST", "/settings/access-review/record/", form={"stale_days": 90})
    assert answer.status == 302
    assert AccessReview.objects.get().reviewer == editor


@pytest.mark.urls("tests.permissions.urls_for_tests")
def test_propfind_on_an_api_view_without_method_checks_gets_405_not_the_data(live_server, outsider):
    """The test URLconf's API view answers every method itself: the middleware stops
    PROPFIND before it, for a user with no permissions as for anyone."""
    browser = Browser(live_server.url).signed_in_as(outsider)
    answer = browser.request("PROPFIND", "/api/cp/customer", headers={"Depth": "1"})
    assert answer.status == 405
    assert "ACME" not in answer.text
