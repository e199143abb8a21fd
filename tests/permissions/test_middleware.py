import pytest
from django.contrib.auth.models import AnonymousUser
from django.contrib.sessions.backends.db import SessionStore
from django.test import RequestFactory

from accounts.models import User
from controlpanel.audit.models import AuditEntry
from controlpanel.kit.areas import mask_of
from permissions.middleware import AccessMiddleware
from permissions.models import Rule
from tests.factories import GroupFactory, UserFactory

from . import urls_for_tests

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.permissions.urls_for_tests")]


@pytest.fixture
def reader(db):
    group = GroupFactory(name="Readers")
    Rule.objects.create(group=group, area="customer", actions=mask_of(["read"]))
    return UserFactory(email="reader@example.com", groups=[group])


def test_a_view_that_declares_nothing_is_refused_even_for_an_administrator(client_as, admin):
    response = client_as(admin).get("/undeclared/")
    assert response.status_code == 403
    assert b"secret data" not in response.content
    assert AuditEntry.objects.filter(action="refused", object_id="/undeclared/").exists()


def test_public_view_needs_no_login(client):
    assert client.get("/open/").content == b"open"


def test_anonymous_visitor_is_sent_to_login_from_a_page(client):
    response = client.get("/customers/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/customers/"


def test_anonymous_api_call_gets_401_json(client):
    response = client.get("/api/cp/customer")
    assert response.status_code == 401
    assert response.json()["detail"]


def test_self_service_needs_only_a_login(client_as, outsider):
    assert client_as(outsider).get("/own/").content == b"own"


def test_refusal_names_the_missing_area_and_action_and_hides_the_data(client_as, outsider):
    response = client_as(outsider).get("/customers/")
    assert response.status_code == 403
    body = response.content.decode()
    assert "read" in body and "Customers" in body
    assert "ACME" not in body
    entry = AuditEntry.objects.get(action="refused")
    assert entry.actor == outsider and entry.object_id == "customer"


def test_reader_reaches_the_page(client_as, reader):
    assert client_as(reader).get("/customers/").status_code == 200


@pytest.mark.parametrize(
    ("method", "action"),
    [("post", "create"), ("put", "update"), ("patch", "update"), ("delete", "delete")],
)
def test_api_method_decides_the_action_and_refusals_are_json(client_as, reader, method, action):
    client = client_as(reader)
    assert client.get("/api/cp/customer").status_code == 200
    response = getattr(client, method)(
        "/api/cp/customer", data="{}", content_type="application/json"
    )
    assert response.status_code == 403
    assert response.json() == {
        "detail": f"You do not have permission to {action} in Customers.",
        "area": "customer",
        "action": action,
    }


def test_head_and_options_count_as_read(client_as, reader):
    client = client_as(reader)
    assert client.head("/api/cp/customer").status_code == 200
    assert client.options("/api/cp/customer").status_code == 200


def test_a_permission_change_is_seen_on_the_next_request(client_as, reader):
    client = client_as(reader)
    assert client.get("/customers/").status_code == 200
    Rule.objects.create(
        group=reader.access_groups.get(), area="customer", actions=mask_of(["read"]), effect="deny"
    )
    assert client.get("/customers/").status_code == 403


def test_warm_permission_and_whitelist_checks_add_no_query(reader, django_assert_num_queries):
    reader.ip_whitelist = [{"entry": "10.0.0.", "network": "10.0.0.0/24"}]
    reader.save()
    middleware = AccessMiddleware(lambda request: None)

    def request_for(user):
        request = RequestFactory().get("/customers/", REMOTE_ADDR="10.0.0.7")
        request.user = user
        request.session = SessionStore()
        return request

    fresh = User.objects.get(pk=reader.pk)
    assert middleware.process_view(request_for(fresh), urls_for_tests.customer_list, (), {}) is None
    again = User.objects.get(pk=reader.pk)  # each request loads the user row anew
    with django_assert_num_queries(0):
        assert (
            middleware.process_view(request_for(again), urls_for_tests.customer_list, (), {})
            is None
        )


def test_an_inactive_users_session_stops_working(client_as, reader):
    client = client_as(reader)
    reader.is_active = False
    reader.save()
    assert client.get("/customers/").status_code == 302


def test_anonymous_user_object_is_never_allowed():
    from permissions.resolver import effective_permissions

    assert not effective_permissions(AnonymousUser()).can("customer", "read")
