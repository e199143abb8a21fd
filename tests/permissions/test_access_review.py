"""The recurring access review: the command's three formats, its flags and deactivation
of stale users, the page, and the queries it costs."""

import csv
import datetime
import io
import json
import re
from html import unescape

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import Role, User
from controlpanel.audit.models import AuditEntry
from controlpanel.kit.areas import all_areas, mask_of
from permissions import review, review_cache
from permissions.models import AccessReview, Rule
from permissions.resolver import effective_permissions
from tests.factories import GroupFactory, UserFactory

pytestmark = pytest.mark.django_db

PAGE = "/settings/access-review/"
RECORD = "/settings/access-review/record/"
DEACTIVATE = "/settings/access-review/deactivate/"


def days_ago(days: int) -> datetime.datetime:
    return timezone.now() - datetime.timedelta(days=days)


def make_user(email, *, last_login=None, created_days_ago=0, **fields) -> User:
    user = UserFactory(email=email, **fields)
    User.objects.filter(pk=user.pk).update(
        last_login=last_login, created_at=days_ago(created_days_ago)
    )
    user.refresh_from_db()
    return user


@pytest.fixture
def cast(admin, monkeypatch):
    """A seeded set: one of each thing a reviewer looks for. Everyone's e-mail counts as
    verified here (whether or not the model tracks it); the unverified flag has its own
    tests."""
    monkeypatch.setattr(User, "is_verified", property(lambda user: True), raising=False)
    User.objects.filter(pk=admin.pk).update(last_login=days_ago(1), created_at=days_ago(400))
    billing = GroupFactory(name="Billing", defaults=mask_of(["read"]))
    Rule.objects.create(group=billing, area="billing", actions=mask_of(["read", "update"]))
    whitelist = [{"entry": "10.0.0.1", "network": "10.0.0.1/32"}]
    return {
        "admin": admin,
        "fresh": make_user(
            "fresh@example.com",
            last_login=days_ago(2),
            created_days_ago=300,
            ip_whitelist=whitelist,
            groups=[billing],
        ),
        "stale": make_user(
            "stale@example.com", last_login=days_ago(120), created_days_ago=300, groups=[billing]
        ),
        "never": make_user("never@example.com", created_days_ago=200, ip_whitelist=whitelist),
        "newcomer": make_user("newcomer@example.com", created_days_ago=3, ip_whitelist=whitelist),
        "gone": make_user(
            "gone@example.com",
            last_login=days_ago(500),
            created_days_ago=600,
            is_active=False,
            ip_whitelist=whitelist,
        ),
    }


EXPECTED_FLAGS = {
    "ada@example.com": ["administrator", "no whitelist"],
    "fresh@example.com": [],
    "stale@example.com": ["stale", "no whitelist"],
    "never@example.com": ["stale", "never logged in"],
    "newcomer@example.com": ["never logged in"],
    "gone@example.com": ["inactive"],
}


def run(*args, stdin: str = "") -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("access_review", *args, stdout=out, stderr=err, stdin=io.StringIO(stdin))
    return out.getvalue(), err.getvalue()


# --- The command's formats -------------------------------------------------------------------


def test_table_lists_every_user_with_role_groups_last_login_and_flags(cast):
    out, err = run("--format", "table")
    lines = out.splitlines()
    assert lines[0].split()[:5] == ["EMAIL", "ROLE", "LAST", "LOGIN", "GROUPS"]
    rows = {line.split()[0]: line for line in lines[1:]}
    assert list(rows) == sorted(EXPECTED_FLAGS)
    assert "Administrator" in rows["ada@example.com"]
    assert "all areas: CRUD" in rows["ada@example.com"]
    assert "Billing" in rows["stale@example.com"]
    assert "never" in rows["never@example.com"].split()
    for email, flags in EXPECTED_FLAGS.items():
        assert (", ".join(flags) or " - ") in rows[email], email
    assert "Reviewed 6 users: 2 stale, 2 never logged in, 1 administrators" in err


def test_csv_has_a_column_per_area_with_the_resolver_s_letters(cast):
    Rule.objects.create(user=cast["stale"], area="cdr", actions=mask_of(["read"]))
    out, _ = run("--format", "csv")
    rows = {row["email"]: row for row in csv.DictReader(io.StringIO(out))}
    assert set(rows) == set(EXPECTED_FLAGS)
    for email, flags in EXPECTED_FLAGS.items():
        assert rows[email]["flags"] == "; ".join(flags), email
    stale = rows["stale@example.com"]
    # Billing is granular (it has an allow rule): only its rules and the user's own count.
    assert (stale["billing"], stale["cdr"], stale["customer"]) == ("RU", "R", "-")
    assert stale["groups"] == "Billing" and stale["role"] == "user"
    assert rows["never@example.com"]["customer"] == "-"
    assert rows["gone@example.com"]["active"] == "no"
    assert rows["fresh@example.com"]["last_login"].startswith(
        cast["fresh"].last_login.date().isoformat()[:4]
    )


def test_json_is_one_array_with_flags_groups_and_access(cast):
    out, _ = run("--format", "json")
    users = {item["email"]: item for item in json.loads(out)}
    assert set(users) == set(EXPECTED_FLAGS)
    for email, flags in EXPECTED_FLAGS.items():
        assert users[email]["flags"] == flags, email
    assert users["ada@example.com"]["access"] == {a.key: "CRUD" for a in all_areas()}
    assert users["stale@example.com"]["groups"] == ["Billing"]
    assert users["never@example.com"]["last_login"] is None


@pytest.mark.parametrize("chunk_size", ["1000", "2"])  # one batch; groups met again
def test_summaries_agree_with_the_one_resolver_for_every_user(
    cast, staff, reseller_user, chunk_size
):
    deny = Rule.objects.create(
        user=reseller_user, area="billing", actions=mask_of(["read"]), effect="deny"
    )
    assert deny.pk
    out, _ = run("--format", "json", "--chunk-size", chunk_size)
    for item in json.loads(out):
        user = User.objects.get(email=item["email"])
        access = effective_permissions(user)
        expected = {
            area.key: "".join(a[0].upper() for a in access.actions(area.key)) or "-"
            for area in all_areas()
        }
        assert item["access"] == expected, item["email"]


def test_stale_days_moves_the_threshold(cast):
    out, err = run("--format", "json", "--stale-days", "150")
    flags = {item["email"]: item["flags"] for item in json.loads(out)}
    assert "stale" not in flags["stale@example.com"]  # 120 days ago
    assert "stale" in flags["never@example.com"]  # created 200 days ago
    assert "1 stale" in err


def test_unverified_users_are_flagged_once_the_model_tracks_verification(cast, monkeypatch):
    monkeypatch.setattr(
        User, "is_verified", property(lambda user: user.email != "never@example.com"), raising=False
    )
    out, _ = run("--format", "json")
    flags = {item["email"]: item["flags"] for item in json.loads(out)}
    assert "unverified" in flags["never@example.com"]
    assert "unverified" not in flags["fresh@example.com"]


def test_no_unverified_flag_while_the_model_does_not_track_verification(cast, monkeypatch):
    if hasattr(User, "is_verified"):
        monkeypatch.delattr(User, "is_verified")
    out, _ = run("--format", "json")
    assert all("unverified" not in item["flags"] for item in json.loads(out))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--stale-days", "0"], "--stale-days"),
        (["--stale-days", "ninety"], "--stale-days"),
        (["--stale-days", "-3"], "--stale-days"),
        (["--yes"], "--yes confirms --deactivate-stale"),
        (["--reviewer", "nobody@example.com"], "--reviewer"),
    ],
)
def test_bad_arguments_exit_2_with_a_message_naming_the_option(cast, args, message):
    with pytest.raises(CommandError) as refused:
        run(*args)
    assert refused.value.returncode == 2
    assert message in str(refused.value)
    assert not AccessReview.objects.exists()


def test_an_unknown_format_is_refused(cast):
    with pytest.raises(CommandError, match="invalid choice: 'xml'"):
        run("--format", "xml")


def test_progress_bar_only_when_asked_or_on_a_terminal(cast):
    _, quiet = run("--format", "csv")
    _, shown = run("--format", "csv", "--progress")
    assert "Reviewing users" not in quiet
    assert "Reviewing users [" in shown and "100% 6/6" in shown


# --- Recording the review ----------------------------------------------------------------


def test_the_command_records_the_review_with_its_counts(cast):
    before = timezone.now()
    run("--stale-days", "90")
    recorded = AccessReview.objects.get()
    assert recorded.reviewer is None and recorded.reviewer_label == "access_review command"
    assert recorded.source == "command" and recorded.stale_days == 90
    assert before <= recorded.at <= timezone.now()
    assert (recorded.users_count, recorded.stale_count, recorded.never_logged_in_count) == (6, 2, 2)
    assert (recorded.administrators_count, recorded.no_whitelist_count) == (1, 2)
    entry = AuditEntry.objects.get(action="access review")
    assert entry.actor_label == "access_review command"
    assert (entry.object_type, entry.object_id) == ("accessreview", str(recorded.pk))


def test_the_command_can_name_the_reviewer(cast):
    run("--reviewer", "ADA@example.com")
    recorded = AccessReview.objects.get()
    assert recorded.reviewer == cast["admin"] and recorded.reviewer_label == "ada@example.com"


def test_recording_from_the_page_keeps_who_and_when(client_as, cast):
    admin = cast["admin"]
    response = client_as(admin).post(RECORD, {"stale_days": "90"})
    assert response.status_code == 302
    recorded = AccessReview.objects.get()
    assert recorded.reviewer == admin and recorded.source == "panel"
    assert timezone.now() - recorded.at < datetime.timedelta(minutes=1)
    entry = AuditEntry.objects.get(action="access review")
    assert entry.actor == admin and entry.address == "127.0.0.1"
    page = client_as(admin).get(PAGE)
    assert "Past reviews" in page.text and "ada@example.com" in page.text


# --- Deactivating stale users ------------------------------------------------------------------


def test_deactivate_stale_with_yes_deactivates_them_ends_sessions_and_audits_each(cast):
    stale_version = cast["stale"].session_version
    _, err = run("--deactivate-stale", "--yes")

    for key in ("stale", "never"):
        user = User.objects.get(pk=cast[key].pk)
        assert not user.is_active, key
        assert AuditEntry.objects.filter(
            action="update", object_type="user", object_id=str(user.pk)
        ).exists()
    assert User.objects.get(pk=cast["stale"].pk).session_version == stale_version + 1
    for key in ("admin", "fresh", "newcomer"):
        assert User.objects.get(pk=cast[key].pk).is_active, key
    assert "Deactivated 2 users." in err
    assert AccessReview.objects.get().deactivated_count == 2


def test_deactivate_stale_asks_first_and_a_no_changes_nothing(cast):
    _, err = run("--deactivate-stale", stdin="no\n")
    assert "Deactivate 2 users with no sign-in for 90 days?" in err
    assert "Nothing was deactivated." in err
    assert User.objects.filter(is_active=False).count() == 1  # only "gone", as before


def test_deactivate_stale_goes_ahead_on_yes_at_the_prompt(cast):
    run("--deactivate-stale", stdin="yes\n")
    assert not User.objects.get(pk=cast["stale"].pk).is_active


def test_deactivate_stale_spares_the_last_active_administrator(cast):
    admin = cast["admin"]
    User.objects.filter(pk=admin.pk).update(last_login=days_ago(365))

    out, err = run("--format", "json", "--deactivate-stale", "--yes")

    flags = {item["email"]: item["flags"] for item in json.loads(out)}
    assert "stale" in flags["ada@example.com"]
    assert User.objects.get(pk=admin.pk).is_active
    assert "Not deactivating ada@example.com: kept: the last active administrator." in err
    assert not User.objects.get(pk=cast["stale"].pk).is_active


def test_of_two_stale_administrators_the_most_recent_one_is_kept(cast):
    User.objects.filter(pk=cast["admin"].pk).update(last_login=days_ago(100))
    older = make_user("old-admin@example.com", role=Role.ADMINISTRATOR, created_days_ago=900)
    User.objects.filter(pk=older.pk).update(last_login=days_ago(800))

    run("--deactivate-stale", "--yes")

    assert not User.objects.get(pk=older.pk).is_active
    assert User.objects.get(pk=cast["admin"].pk).is_active


# --- The page ------------------------------------------------------------------------------


def test_the_page_lists_users_with_flags_and_counts(client_as, cast):
    response = client_as(cast["admin"]).get(PAGE)
    assert response.status_code == 200
    body = response.text
    for email in EXPECTED_FLAGS:
        assert email in body
    assert "<strong>2</strong> stale" in body
    assert "<strong>6</strong> users" in body
    assert 'review-flag--never-logged-in">never logged in' in body


def test_the_page_can_show_only_the_stale(client_as, cast):
    response = client_as(cast["admin"]).get(PAGE, {"flag": "stale"})
    assert "stale@example.com" in response.text and "never@example.com" in response.text
    assert "fresh@example.com" not in response.text


def test_the_page_refuses_a_bad_threshold_with_a_message(client_as, cast):
    response = client_as(cast["admin"]).get(PAGE, {"stale_days": "0"})
    assert "Ensure this value is greater than or equal to 1" in response.text
    assert "stale@example.com" not in response.text


def test_a_reseller_s_user_reviews_only_their_reseller_s_users(client_as, cast, reseller_user):
    colleague = make_user("colleague@acme.example", reseller=reseller_user.reseller)
    response = client_as(reseller_user).get(PAGE)
    assert response.status_code == 200
    assert colleague.email in response.text
    assert "stale@example.com" not in response.text and "ada@example.com" not in response.text


def test_the_page_is_refused_without_user_read(client_as, staff, outsider):
    assert client_as(staff).get(PAGE).status_code == 403
    assert client_as(outsider).post(RECORD).status_code == 403


def test_the_pages_refuse_the_wrong_method(client_as, cast):
    client = client_as(cast["admin"])
    assert client.post(PAGE).status_code == 405
    assert client.get(RECORD).status_code == 405
    assert client.delete(DEACTIVATE).status_code == 405


def test_deactivation_needs_user_update(client_as, cast, reseller_user):
    client = client_as(reseller_user)  # reads every area, may update none
    assert client.get(DEACTIVATE).status_code == 403
    assert client.post(DEACTIVATE, {"stale_days": "90"}).status_code == 403
    assert User.objects.get(pk=cast["stale"].pk).is_active


def test_confirmation_lists_the_stale_users_then_one_click_deactivates_them(client_as, cast):
    client = client_as(cast["admin"])
    confirm = client.get(DEACTIVATE, {"stale_days": "90"})
    assert confirm.status_code == 200
    body = confirm.text
    assert "stale@example.com" in body and "never@example.com" in body
    assert "fresh@example.com" not in body and "newcomer@example.com" not in body
    assert "Deactivate 2 users" in body
    assert User.objects.get(pk=cast["stale"].pk).is_active  # looking changes nothing

    as_of = body.split('name="as_of" value="')[1].split('"')[0]
    done = client.post(DEACTIVATE, {"stale_days": "90", "as_of": as_of}, follow=True)

    assert "Deactivated 2 stale users" in done.text
    assert not User.objects.get(pk=cast["stale"].pk).is_active
    assert not User.objects.get(pk=cast["never"].pk).is_active
    assert User.objects.get(pk=cast["admin"].pk).is_active
    recorded = AccessReview.objects.get()
    assert recorded.reviewer == cast["admin"] and recorded.deactivated_count == 2


def test_a_stale_confirmation_deactivates_nobody(client_as, cast):
    old = (timezone.now() - datetime.timedelta(hours=2)).isoformat()
    response = client_as(cast["admin"]).post(
        DEACTIVATE, {"stale_days": "90", "as_of": old}, follow=True
    )
    assert "This confirmation is out of date" in response.text
    assert User.objects.get(pk=cast["stale"].pk).is_active


def test_a_non_administrator_cannot_deactivate_an_administrator(client_as, cast):
    managers = GroupFactory(name="User managers")
    Rule.objects.create(group=managers, area="user", actions=mask_of(["read", "update"]))
    manager = make_user("manager@example.com", groups=[managers])
    stale_admin = make_user("old@example.com", role=Role.ADMINISTRATOR, created_days_ago=400)
    client = client_as(manager)

    confirm = client.get(DEACTIVATE)
    assert "old@example.com: kept: Only an administrator can edit" in confirm.text
    as_of = confirm.text.split('name="as_of" value="')[1].split('"')[0]
    client.post(DEACTIVATE, {"stale_days": "90", "as_of": as_of})

    assert User.objects.get(pk=stale_admin.pk).is_active


# --- Queries -------------------------------------------------------------------------------


def _crowd(count: int, group) -> None:
    for i in range(count):
        user = UserFactory(groups=[group], email=f"crowd{i}@example.com")
        Rule.objects.create(user=user, area="cdr", actions=mask_of(["read"]))


def test_the_command_s_queries_do_not_grow_with_the_number_of_users(
    cast, django_assert_max_num_queries
):
    group = GroupFactory(name="Crowd")
    Rule.objects.create(group=group, area="customer", actions=mask_of(["read"]))
    _crowd(3, group)
    with django_assert_max_num_queries(50) as small:
        run("--format", "csv")
    _crowd_more = 60
    for i in range(_crowd_more):
        user = UserFactory(groups=[group], email=f"more{i}@example.com")
        Rule.objects.create(user=user, area="cdr", actions=mask_of(["read"]))
    with django_assert_max_num_queries(len(small.captured_queries)):
        out, _ = run("--format", "csv")
    assert len(out.splitlines()) == 1 + 6 + 3 + _crowd_more


def test_each_batch_costs_a_constant_number_of_queries(cast, django_assert_max_num_queries):
    group = GroupFactory(name="Crowd")
    _crowd(24, group)  # 30 users: 3 batches of 10
    with django_assert_max_num_queries(50) as one_batch:
        run("--format", "csv", "--chunk-size", "1000")
    with django_assert_max_num_queries(len(one_batch.captured_queries) + 2 * 3):
        run("--format", "csv", "--chunk-size", "10")


# The page's queries once its totals and its users' permissions are in the cache: the
# session, the signed-in user, the page of users, their group names, the schedule, the
# past reviews. Counting the totals, resolving the page's users (memberships with their
# groups, rules) and checking their stamps before caching them add four when cold.
WARM_PAGE_QUERIES = 6
COLD_PAGE_EXTRA = 4


def test_the_page_s_queries_do_not_grow_with_the_number_of_users(
    client_as, cast, django_assert_num_queries
):
    client = client_as(cast["admin"])
    client.get(PAGE)
    with django_assert_num_queries(WARM_PAGE_QUERIES):
        client.get(PAGE)
    _crowd(40, GroupFactory(name="Crowd"))
    review_cache._new_generation()  # what the crowd's commit does
    with django_assert_num_queries(WARM_PAGE_QUERIES + COLD_PAGE_EXTRA):
        response = client.get(PAGE)  # counted again; the 40 newcomers resolved and cached
    assert "crowd39@example.com" in response.text
    assert "<strong>46</strong> users" in response.text
    with django_assert_num_queries(WARM_PAGE_QUERIES):
        assert "crowd39@example.com" in client.get(PAGE).text


def test_bulk_stale_definition_agrees_with_the_per_user_one(cast):
    cutoff = review.stale_cutoff(90)
    in_database = set(User.objects.filter(review.stale_q(cutoff)).values_list("pk", flat=True))
    in_python = {u.pk for u in User.objects.all() if review.is_stale(u, cutoff)}
    assert in_database == in_python == {cast["stale"].pk, cast["never"].pk}


def test_the_page_walks_every_user_once_and_a_deep_page_costs_what_the_first_does(client_as, cast):
    _crowd(110, GroupFactory(name="Crowd"))
    client = client_as(cast["admin"])

    def emails(response) -> list[str]:
        return re.findall(r"<tr>\s*<td>([^<]+@[^<]+?)(?:<br>|</td>)", response.text)

    def link(response, rel):
        found = re.search(rf'<a href="([^"]+)" rel="{rel}">', response.text)
        return PAGE + unescape(found.group(1)) if found else None

    everyone = sorted(User.objects.values_list("email", flat=True))
    seen, response, urls = [], client.get(PAGE), [PAGE]
    while True:
        seen += [email for email in emails(response) if email in everyone]
        if not (following := link(response, "next")):
            break
        urls.append(following)
        response = client.get(following)
    assert seen == everyone and len(urls) == 3
    last = client.get(link(client.get(PAGE), "last"))
    assert [e for e in emails(last) if e in everyone] == everyone[-50:]
    counts = set()
    for url in [*urls, link(client.get(PAGE), "last")]:
        with CaptureQueriesContext(connection) as captured:
            client.get(url)
        counts.add(len(captured))
    assert len(counts) == 1, counts
