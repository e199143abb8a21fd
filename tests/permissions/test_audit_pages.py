"""The audit log pages: what an administrator, a reseller's user and an outsider see."""

import datetime
import re

import pytest
from django.db import connection
from django.template import Context, Template
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from controlpanel.audit import log as audit
from controlpanel.audit.models import AuditEntry
from tests.factories import GroupFactory, UserFactory

pytestmark = pytest.mark.django_db

LIST = "/settings/audit/"
UTC = datetime.UTC


def at(*args) -> datetime.datetime:
    return datetime.datetime(*args, tzinfo=UTC)


def entry(**fields) -> AuditEntry:
    fields.setdefault("actor_label", "system")
    fields.setdefault("action", audit.Action.UPDATE)
    return AuditEntry.objects.create(**fields)


def listed_ids(response) -> list[int]:
    return [int(pk) for pk in re.findall(r'href="/settings/audit/(\d+)/"><time', response.text)]


def test_the_audit_log_is_in_the_navigation_of_whoever_may_read_it(client_as, admin, staff):
    assert f'href="{LIST}"' in client_as(admin).get("/").text
    assert f'href="{LIST}"' not in client_as(staff).get("/").text


def test_recorded_entries_are_listed_newest_first_with_their_fields(client_as, admin, staff):
    group = GroupFactory(name="Night shift")
    audit.record(audit.Action.CREATE, actor=admin, address="192.0.2.7", obj=group, message="A")
    audit.record(audit.Action.DELETE, actor_label="import_access", obj=staff, message="B")

    response = client_as(admin).get(LIST)

    assert response.status_code == 200
    newest, older = AuditEntry.objects.order_by("-id")[:2]
    assert listed_ids(response)[:2] == [newest.pk, older.pk]
    body = response.text
    assert "import_access" in body and "ada@example.com" in body
    assert "<code>192.0.2.7</code>" in body
    assert f"group <code>{group.pk}</code>" in body
    assert f"user <code>{staff.pk}</code>" in body


def test_a_refused_request_appears_with_who_where_and_what(client, client_as, outsider, admin):
    assert client_as(outsider).get(LIST).status_code == 403

    client.logout()
    response = client_as(admin).get(LIST, {"action": "refused"})

    refused = AuditEntry.objects.get(action="refused")
    assert refused.actor == outsider and refused.address == "127.0.0.1"
    assert (refused.object_type, refused.object_id) == ("area", "audit-log")
    assert listed_ids(response) == [refused.pk]
    assert "olly@example.com" in response.text
    assert "lacks read on audit-log" in response.text


def test_sign_ins_and_failed_sign_ins_appear(client, client_as, staff, password, admin):
    client.post("/accounts/login/", {"email": staff.email, "password": "wrong wrong wrong"})
    client.post("/accounts/login/", {"email": staff.email, "password": password})
    client.logout()

    admin_client = client_as(admin)
    failed = admin_client.get(LIST, {"action": "login failed"})
    succeeded = admin_client.get(LIST, {"action": "login", "actor": "sam@"})

    assert len(listed_ids(failed)) == 1 and "sam@example.com" in failed.text
    assert listed_ids(succeeded) == [AuditEntry.objects.get(action="login", actor=staff).pk]


def test_detail_page_shows_before_and_after_of_an_update(client_as, admin, staff):
    update = audit.record(
        audit.Action.UPDATE,
        actor=admin,
        obj=staff,
        message="Updated user.",
        changes={
            "name": {"before": "Sam Staff", "after": "Samantha Staff"},
            "groups": {"added": ["Billing"], "removed": ["Night shift"]},
            "shared_ticket": {"before": False, "after": True},
        },
    )

    response = client_as(admin).get(reverse("audit-log-detail", args=[update.pk]))

    assert response.status_code == 200
    rows = re.findall(
        r'<th scope="row">([^<]+)</th>\s*<td class="audit-diff__before">([^<]*)</td>\s*'
        r'<td class="audit-diff__after">([^<]*)</td>',
        response.text,
    )
    assert rows == [
        ("name", "Sam Staff", "Samantha Staff"),
        ("groups", "removed: Night shift", "added: Billing"),
        ("shared_ticket", "no", "yes"),
    ]
    assert f"?object_type=user&amp;object_id={staff.pk}" in response.text


def test_secrets_never_reach_the_audit_log(admin):
    written = audit.record(
        audit.Action.UPDATE,
        actor=admin,
        obj=admin,
        changes={
            "password": {"before": "x", "after": "y"},
            "api_token": {"after": "t0k3n"},
            "name": {"before": "A", "after": "B"},
        },
    )
    written = AuditEntry.objects.get(pk=written.pk)
    assert written.changes == {"name": {"before": "A", "after": "B"}}


def test_an_entry_about_a_reseller_s_object_belongs_to_that_reseller(admin, reseller_user):
    about_their_user = audit.record(audit.Action.UPDATE, actor=admin, obj=reseller_user)
    by_their_user = audit.record(audit.Action.LOGIN, actor=reseller_user)
    about_a_group = audit.record(audit.Action.UPDATE, actor=admin, obj=GroupFactory())

    assert about_their_user.reseller_id == reseller_user.reseller_id
    assert by_their_user.reseller_id == reseller_user.reseller_id
    assert about_a_group.reseller_id is None


def test_a_reseller_s_user_sees_only_their_reseller_s_entries(client_as, admin, reseller_user):
    theirs = audit.record(audit.Action.UPDATE, actor=admin, obj=reseller_user)
    other_user = UserFactory(email="someone@else.example")
    not_theirs = audit.record(audit.Action.UPDATE, actor=admin, obj=other_user)

    client = client_as(reseller_user)
    response = client.get(LIST)

    assert theirs.pk in listed_ids(response)
    assert not_theirs.pk not in listed_ids(response)
    assert "someone@else.example" not in response.text
    assert client.get(reverse("audit-log-detail", args=[not_theirs.pk])).status_code == 404
    assert client.get(reverse("audit-log-detail", args=[theirs.pk])).status_code == 200


def test_filter_by_actor_matches_part_of_the_email_in_any_case(client_as, admin):
    mine = entry(actor_label="nadia@noc.example")
    entry(actor_label="bruno@billing.example")
    response = client_as(admin).get(LIST, {"actor": "NOC.ex"})
    assert listed_ids(response) == [mine.pk]


def test_filter_by_object_type_and_id(client_as, admin):
    wanted = entry(object_type="group", object_id="7")
    entry(object_type="group", object_id="8")
    entry(object_type="user", object_id="7")
    response = client_as(admin).get(LIST, {"object_type": "group", "object_id": "7"})
    assert listed_ids(response) == [wanted.pk]


def test_filter_by_action(client_as, admin):
    deleted = entry(action=audit.Action.DELETE)
    entry(action=audit.Action.CREATE)
    response = client_as(admin).get(LIST, {"action": "delete"})
    assert listed_ids(response) == [deleted.pk]


def test_date_range_is_read_in_the_viewer_s_time_zone(client_as, admin):
    admin.timezone = "Asia/Kolkata"  # UTC+05:30, no daylight saving
    admin.save()
    late_on_the_first = entry(at=at(2026, 3, 1, 18, 0))  # 23:30 on 1 March in Kolkata
    early_on_the_second = entry(at=at(2026, 3, 1, 18, 45))  # 00:15 on 2 March in Kolkata
    client = client_as(admin)

    second = client.get(LIST, {"date_from": "2026-03-02", "date_to": "2026-03-02"})
    first = client.get(LIST, {"date_to": "2026-03-01"})

    assert listed_ids(second) == [early_on_the_second.pk]
    assert listed_ids(first) == [late_on_the_first.pk]
    assert "2026-03-02 00:15:00" in second.text  # shown in the viewer's time zone too
    assert "Asia/Kolkata" in second.text


def test_date_range_in_utc_for_a_viewer_in_utc(client_as, admin):
    both = [entry(at=at(2026, 3, 1, 18, 0)), entry(at=at(2026, 3, 1, 18, 45))]
    response = client_as(admin).get(LIST, {"date_from": "2026-03-01", "date_to": "2026-03-01"})
    assert sorted(listed_ids(response)) == sorted(e.pk for e in both)


def test_reversed_dates_are_refused_with_a_message_naming_the_field(client_as, admin):
    entry()
    response = client_as(admin).get(LIST, {"date_from": "2026-03-02", "date_to": "2026-03-01"})
    assert "To: The end date must be on or after the start date." in response.text
    assert listed_ids(response) == []


def test_an_unknown_action_is_refused_with_a_message(client_as, admin):
    response = client_as(admin).get(LIST, {"action": "explode"})
    assert "Select a valid choice" in response.text
    assert "No audit entries match" not in response.text


def test_a_forged_page_link_is_refused(client_as, admin):
    response = client_as(admin).get(LIST, {"older": "yesterday"})
    assert "This page link is not valid" in response.text


def test_pages_go_back_in_time_and_forward_again(client_as, admin):
    start = at(2026, 1, 1)
    entries = [entry(at=start + datetime.timedelta(minutes=i)) for i in range(55)]
    newest_first = [e.pk for e in reversed(entries)]
    client = client_as(admin)

    first = client.get(LIST)
    older_link = re.search(r'href="\?older=([^"]+)" rel="next"', first.text).group(1)
    second = client.get(LIST, {"older": older_link})
    newer_link = re.search(r'href="\?newer=([^"]+)" rel="prev"', second.text).group(1)
    back = client.get(LIST, {"newer": newer_link})

    assert listed_ids(first) == newest_first[:50]
    assert 'rel="prev"' not in first.text
    assert listed_ids(second) == newest_first[50:]
    assert 'rel="next"' not in second.text
    assert listed_ids(back) == newest_first[:50]


def test_the_oldest_page_and_newer_from_there(client_as, admin):
    start = at(2026, 1, 1)
    entries = [entry(at=start + datetime.timedelta(minutes=i // 2)) for i in range(120)]
    newest_first = [e.pk for e in reversed(entries)]  # two entries a minute: the id decides
    client = client_as(admin)
    first = client.get(LIST)
    assert 'href="?oldest=1" rel="last"' in first.text
    oldest = client.get(LIST, {"oldest": "1"})
    assert listed_ids(oldest) == newest_first[-50:]
    assert 'rel="next"' not in oldest.text and 'rel="last"' not in oldest.text
    newer_link = re.search(r'href="\?newer=([^"]+)" rel="prev"', oldest.text).group(1)
    newer = client.get(LIST, {"newer": newer_link})
    assert listed_ids(newer) == newest_first[-100:-50]
    older_link = re.search(r'href="\?older=([^"]+)" rel="next"', newer.text).group(1)
    assert listed_ids(client.get(LIST, {"older": older_link})) == newest_first[-50:]


def test_a_deep_page_costs_the_queries_of_the_first(client_as, admin):
    start = at(2026, 1, 1)
    for i in range(160):
        entry(at=start + datetime.timedelta(minutes=i))
    client = client_as(admin)
    first = client.get(LIST)
    links = [f"{LIST}?oldest=1"]
    page = first
    for _ in range(2):
        older_link = re.search(r'href="\?older=([^"]+)" rel="next"', page.text).group(1)
        links.append(f"{LIST}?older={older_link}")
        page = client.get(links[-1])
    counts = set()
    for url in [LIST, *links]:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url).status_code == 200
        counts.add(len(captured))
    assert len(counts) == 1, counts


def test_filters_stay_on_the_next_page(client_as, admin):
    for i in range(52):
        entry(action=audit.Action.LOGIN, at=at(2026, 1, 1) + datetime.timedelta(minutes=i))
    entry(action=audit.Action.LOGOUT)
    first = client_as(admin).get(LIST, {"action": "login"})
    assert 'href="?action=login&amp;older=' in first.text


def test_listing_costs_the_same_queries_however_many_entries(
    client_as, admin, django_assert_max_num_queries
):
    client = client_as(admin)
    client.get(LIST)  # warm the session and the permission cache
    for i in range(5):
        entry(message=f"m{i}")
    with django_assert_max_num_queries(4) as few:
        client.get(LIST)
    for i in range(200):
        entry(message=f"n{i}")
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get(LIST)


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_the_audit_pages_accept_no_writes(client_as, admin, method):
    written = entry(message="keep me")
    client = client_as(admin)
    for url in (LIST, reverse("audit-log-detail", args=[written.pk])):
        assert getattr(client, method)(url).status_code == 405
    assert AuditEntry.objects.get(pk=written.pk).message == "keep me"


def test_someone_without_audit_read_is_refused(client_as, staff):
    written = entry()
    client = client_as(staff)
    assert client.get(LIST).status_code == 403
    assert client.get(reverse("audit-log-detail", args=[written.pk])).status_code == 403


def _render(template: str, user, **context) -> str:
    request = RequestFactory().get("/")
    request.user = user
    return Template(template).render(Context({"request": request, **context}))


def test_history_url_tag_filters_the_list_to_one_object(admin):
    group = GroupFactory()
    url = _render("{% load audit_tags %}{% audit_history_url obj %}", admin, obj=group)
    by_key = _render('{% load audit_tags %}{% audit_history_url "user" 5 %}', admin)
    assert url == f"/settings/audit/?object_type=group&amp;object_id={group.pk}"
    assert by_key == "/settings/audit/?object_type=user&amp;object_id=5"


def test_history_link_shows_only_to_readers_of_the_audit_log(client_as, admin, staff):
    group = GroupFactory()
    audit.record(audit.Action.CREATE, actor=admin, obj=group)
    template = '{% include "partials/history_link.html" with obj=group %}'
    link = _render(template, admin, group=group)
    assert 'class="history-link"' in link
    assert _render(template, staff, group=group).strip() == ""

    href = re.search(r'href="([^"]+)"', link).group(1).replace("&amp;", "&")
    response = client_as(admin).get(href)
    assert listed_ids(response) == [AuditEntry.objects.get(object_type="group").pk]
