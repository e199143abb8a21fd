"""The users list's keyset pages (Setup > Settings > Users): First, Previous, Next and Last
walk every user exactly once in every sort, both ways; a page link keeps meaning the same
rows; every page, however deep, costs the same queries; the count is capped; on
PostgreSQL a rare search term is read from the trigram indexes."""

import datetime
import re
from html import unescape

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import User
from permissions import user_views
from permissions.user_forms import BAD_PAGE_LINK
from permissions.user_selectors import SEARCH_FEW, SORTS
from tests.factories import GroupFactory, UserFactory

pytestmark = pytest.mark.django_db

NOW = timezone.now()
ON_POSTGRESQL = connection.vendor == "postgresql"
POSTGRESQL_ONLY = pytest.mark.skipif(
    not ON_POSTGRESQL, reason="trigram indexes (pg_trgm) exist only on PostgreSQL"
)


def listed(response) -> list[str]:
    assert response.status_code == 200, response.status_code
    return re.findall(
        r'<div class="muted small users-table__email">([^<]+)</div>', response.content.decode()
    )


def link(response, rel: str) -> str | None:
    found = re.search(rf'<a href="([^"]+)" rel="{rel}">', response.content.decode())
    return unescape(found.group(1)) if found else None


@pytest.fixture
def crowd(db, admin):
    """53 users besides Ada: names that tie (the id decides), no names (the e-mail is the
    name), sign-ins that tie, and people who never signed in."""
    people = []
    for i in range(53):
        people.append(
            UserFactory(
                email=f"p{(i * 37) % 53:02d}@example.com",
                name=["Kim Lee", "", f"Person {i % 7}", "ÅSA Öberg"][i % 4],
                last_login=None if i % 5 == 0 else NOW - datetime.timedelta(hours=i % 9),
            )
        )
    return people


def in_database_order(sort: str, **filters) -> list[str]:
    """Everyone in the order the database gives for this sort (its own collation)."""
    seek = SORTS[sort]
    users = seek.annotate(User.objects.filter(**filters))
    return list(users.order_by(*seek.order_by()).values_list("email", flat=True))


@pytest.mark.parametrize("sort", list(SORTS))
def test_next_and_previous_walk_everyone_once_in_every_sort(client_as, admin, crowd, sort):
    client = client_as(admin)
    expected = in_database_order(sort)
    forwards, response = [], client.get("/settings/users/", {"sort": sort})
    assert link(response, "prev") is None and link(response, "first") is None
    while True:
        forwards += listed(response)
        if not (following := link(response, "next")):
            break
        response = client.get(following)
    assert forwards == expected
    # from the last page back to the first, by "Previous": full pages counted from the
    # end, then the first page (full too, where a short one would have been)
    pages, response = [], client.get(link(client.get("/settings/users/", {"sort": sort}), "last"))
    assert link(response, "next") is None and link(response, "last") is None
    while True:
        pages.append(listed(response))
        if not (previous := link(response, "prev")):
            break
        response = client.get(previous)
    end = len(expected)
    for page in pages[:-1]:
        assert page == expected[end - 25 : end]
        end -= 25
    assert pages[-1] == expected[:25] and 0 < end <= 25 + 25
    assert link(response, "first") is None and link(response, "next")


def test_a_search_pages_both_ways_too(client_as, admin, crowd):
    client = client_as(admin)
    expected = in_database_order("-name")  # everyone, Ada too, is at example.com
    first = client.get("/settings/users/", {"q": "example.com", "sort": "-name"})
    second = client.get(link(first, "next"))
    last = client.get(link(first, "last"))
    assert listed(first) + listed(second) == expected[:50]
    assert listed(last) == expected[-25:]
    assert listed(client.get(link(second, "prev"))) == expected[:25]


def test_a_page_link_keeps_its_rows_when_users_are_added_before_it(client_as, admin, crowd):
    client = client_as(admin)
    following = link(client.get("/settings/users/"), "next")
    before = listed(client.get(following))
    UserFactory(email="a0@example.com")  # sorts first by e-mail
    UserFactory(email="zz@example.com")
    assert listed(client.get(following)) == before


@pytest.mark.parametrize(
    "query", ["after=12", "after=abc.x", "before=.", "sort=-last_login&after=1.yesterday"]
)
def test_a_page_link_not_understood_is_named_and_the_first_page_shown(
    client_as, admin, crowd, query
):
    response = client_as(admin).get(f"/settings/users/?{query}")
    body = unescape(response.content.decode())
    assert BAD_PAGE_LINK in body
    assert link(response, "prev") is None and len(listed(response)) == 25


def test_a_link_past_the_end_shows_the_first_page(client_as, admin, crowd):
    response = client_as(admin).get("/settings/users/?after=1.zzzz")
    assert listed(response)[0] == in_database_order("email")[0]


def test_the_count_stops_at_its_cap(client_as, admin, crowd, monkeypatch):
    client = client_as(admin)
    assert "54 users" in client.get("/settings/users/").content.decode()
    monkeypatch.setattr(user_views, "USERS_COUNT_CAP", 50)
    body = client.get("/settings/users/").content.decode()
    assert "More than 50 users" in body and "54 users" not in body


@pytest.mark.parametrize(
    "query",
    ["", "sort=-name", "sort=last_login", "q=example.com", "q=p1", "q=nobody", "q=team"],
)
def test_every_page_runs_the_same_queries_however_deep_and_however_many_users(
    client_as, admin, query
):
    """First, a middle and the last page, at 30 and at 90 users: one query count."""
    team = GroupFactory(name="Team")
    client = client_as(admin)

    def add_users(start, count):
        for i in range(start, start + count):
            UserFactory(
                email=f"p{i:03d}@example.com",
                groups=[team] if i % 3 == 0 else [],
                last_login=NOW - datetime.timedelta(hours=i),
            )

    def queries(url):
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url).status_code == 200
        return len(captured)

    def pages():
        first_url = f"/settings/users/?{query}"
        first = client.get(first_url)
        urls = [first_url, link(first, "next"), link(first, "last")]
        return [url for url in urls if url]

    add_users(0, 30)
    client.get("/settings/users/")  # warm the permission cache
    counts = {queries(url) for url in pages()}
    add_users(30, 60)
    counts |= {queries(url) for url in pages()}
    assert len(counts) == 1, counts


@POSTGRESQL_ONLY
def test_the_migration_made_trigram_indexes_for_the_search():
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'")
        assert cursor.fetchone(), "pg_trgm was not created"
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'accounts_user'"
            " AND indexdef LIKE '%gin_trgm_ops%'"
        )
        indexes = dict(cursor.fetchall())
    assert set(indexes) == {"user_email_trgm_idx", "user_name_trgm_idx"}
    assert "upper((email)::text)" in indexes["user_email_trgm_idx"]


@POSTGRESQL_ONLY
def test_a_rare_term_is_read_from_the_trigram_index_and_a_common_one_stops_early(client_as, admin):
    User.objects.bulk_create(
        User(email=f"member{i:05d}@example.com", name=f"Member {i}", password="!")
        for i in range(4000)
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE accounts_user")
    client = client_as(admin)
    client.get("/settings/users/")
    with CaptureQueriesContext(connection) as captured:
        response = client.get("/settings/users/", {"q": "member01234"})
    assert listed(response) == ["member01234@example.com"]
    probe = next(q["sql"] for q in captured if "UNION ALL" in q["sql"])
    with connection.cursor() as cursor:
        # A few thousand rows fit in a few pages, where a scan is as cheap as the index;
        # without scans the plan shows whether the indexes answer the query's conditions.
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN {probe}")
        plan = "\n".join(row[0] for row in cursor.fetchall())
        cursor.execute("SET LOCAL enable_seqscan = on")
    assert "user_email_trgm_idx" in plan and "user_name_trgm_idx" in plan
    # a term matching everyone: more than SEARCH_FEW ids, so the page walks the e-mail
    # order and stops after a page (the probe stopped at its limit)
    common = client.get("/settings/users/", {"q": "member"})
    assert listed(common) == [f"member{i:05d}@example.com" for i in range(25)]
    assert SEARCH_FEW < 4000
