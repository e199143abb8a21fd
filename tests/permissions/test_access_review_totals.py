"""The access review page's kept totals (``permissions.review.review_totals``) and its rows'
cached permissions (``permissions.resolver.effective_permissions_of``): the page says as of
when, every write that can change a total forgets them once it commits, a review is
recorded with counts taken then, and the rows agree with the one resolver."""

import datetime
import re

import pytest
from django.contrib.auth.models import update_last_login
from django.core.cache import cache
from django.utils import timezone

from accounts.models import User
from controlpanel.kit.areas import mask_of
from permissions import review, review_cache
from permissions.models import AccessReview, Rule
from permissions.resolver import effective_permissions, effective_permissions_of
from permissions.user_services import user_deactivate, users_bulk_update
from tests.factories import GroupFactory, UserFactory

pytestmark = pytest.mark.django_db

PAGE = "/settings/access-review/"
RECORD = "/settings/access-review/record/"
WHITELIST = [{"entry": "10.0.0.1", "network": "10.0.0.1/32"}]


def _ago(days: int) -> datetime.datetime:
    return timezone.now() - datetime.timedelta(days=days)


@pytest.fixture
def people(admin):
    User.objects.filter(pk=admin.pk).update(last_login=_ago(1))
    stale = UserFactory(email="stale@example.com", ip_whitelist=WHITELIST)
    never = UserFactory(email="never@example.com", ip_whitelist=WHITELIST)
    User.objects.filter(pk=stale.pk).update(last_login=_ago(200), created_at=_ago(300))
    User.objects.filter(pk=never.pk).update(created_at=_ago(300))
    return {"admin": admin, "stale": User.objects.get(pk=stale.pk), "never": never}


def _count(response, label: str) -> int:
    found = re.search(rf"<strong>(\d+)</strong> {label}", response.text)
    assert found, label
    return int(found.group(1))


def test_the_page_says_as_of_when_and_keeps_its_totals(client_as, people):
    client = client_as(people["admin"])
    first = client.get(PAGE)
    assert "Totals as of <time" in first.text and "kept for up to" not in first.text
    assert _count(first, "users") == 3
    UserFactory(email="quiet@example.com")  # inside the test's transaction: never commits
    kept = client.get(PAGE)
    assert _count(kept, "users") == 3
    assert "kept for up to 5 minutes" in kept.text and "alters them" in kept.text
    assert "recount=1" in kept.text
    as_of = re.search(r'<time datetime="([^"]+)">', first.text).group(1)
    assert f'<time datetime="{as_of}">' in kept.text
    assert _count(client.get(PAGE, {"recount": "1"}), "users") == 4


def test_a_new_user_counts_once_committed(client_as, people, django_capture_on_commit_callbacks):
    client = client_as(people["admin"])
    assert _count(client.get(PAGE), "users") == 3
    with django_capture_on_commit_callbacks(execute=True):
        UserFactory(email="new@example.com")
    assert _count(client.get(PAGE), "users") == 4


def test_a_sign_in_is_counted_once_committed(client_as, people, django_capture_on_commit_callbacks):
    client = client_as(people["admin"])
    assert _count(client.get(PAGE), "stale") == 2
    never = people["never"]
    with django_capture_on_commit_callbacks(execute=True):
        update_last_login(None, never)  # what every sign-in does
    page = client.get(PAGE)
    assert _count(page, "stale") == 1
    assert _count(page, "never logged in") == 0


def test_a_sign_in_within_a_day_of_the_last_one_keeps_the_totals(
    people, django_capture_on_commit_callbacks
):
    admin = people["admin"]  # signed in a day ago, less a few minutes
    User.objects.filter(pk=admin.pk).update(last_login=_ago(1) + datetime.timedelta(minutes=5))
    admin.refresh_from_db()
    before = review.review_totals(None, stale_days=1)
    assert before.counts["stale_count"] == 2
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        update_last_login(None, admin)
    assert callbacks == []  # nothing to forget: no total moves
    assert review.review_totals(None, stale_days=1).as_of == before.as_of
    stale = people["stale"]  # last signed in 200 days ago: stale under every threshold here
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        update_last_login(None, stale)
    assert len(callbacks) == 1
    assert review.review_totals(None, stale_days=1).counts["stale_count"] == 1


def test_a_deactivation_is_counted_once_committed(
    client_as, people, django_capture_on_commit_callbacks
):
    client = client_as(people["admin"])
    assert _count(client.get(PAGE), "stale") == 2
    with django_capture_on_commit_callbacks(execute=True):
        user_deactivate(user=people["stale"], actor=people["admin"])
    assert _count(client.get(PAGE), "stale") == 1


def test_a_bulk_update_is_counted_once_committed(
    client_as, people, django_capture_on_commit_callbacks
):
    client = client_as(people["admin"])
    assert _count(client.get(PAGE), "without an IP whitelist") == 1  # the administrator
    never = people["never"]
    never.ip_whitelist = []
    with django_capture_on_commit_callbacks(execute=True):
        users_bulk_update(users=[never], changed={never.pk: {"ip_whitelist"}})
    assert _count(client.get(PAGE), "without an IP whitelist") == 2


def test_a_save_that_changes_no_counted_field_keeps_the_totals(
    people, django_capture_on_commit_callbacks
):
    before = review.review_totals(None, stale_days=90)
    never = people["never"]
    never.name = "Renamed"
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        never.save(update_fields=["name"])
    assert callbacks == []
    after = review.review_totals(None, stale_days=90)
    assert after.kept and after.as_of == before.as_of


def test_each_reseller_and_threshold_has_its_own_totals(people, reseller_user):
    everyone = review.review_totals(None, stale_days=90)
    theirs = review.review_totals(reseller_user, stale_days=90)
    assert everyone.counts["users_count"] == 4 and theirs.counts["users_count"] == 1
    assert review.review_totals(None, stale_days=250).counts["stale_count"] == 1  # never
    assert review.review_totals(None, stale_days=90).counts["stale_count"] == 2


def test_recording_counts_afresh_whatever_the_page_kept(client_as, people):
    client = client_as(people["admin"])
    assert _count(client.get(PAGE), "users") == 3
    UserFactory(email="late@example.com")  # not committed: the kept totals still say 3
    assert _count(client.get(PAGE), "users") == 3
    client.post(RECORD, {"stale_days": "90"})
    assert AccessReview.objects.get().users_count == 4


def test_an_unreachable_cache_counts_now(people, monkeypatch):
    def broken(*args, **kwargs):
        raise ConnectionError("cache down")

    for method in ("get", "get_many", "set", "add"):
        monkeypatch.setattr(cache, method, broken)
    totals = review.review_totals(None, stale_days=90)
    assert totals.counts["users_count"] == 3 and not totals.kept


def test_totals_counted_before_a_commit_are_never_read(people):
    slot, kept = review_cache.read_counts(None, 90)  # a page reads the generation...
    assert kept is None
    review_cache._new_generation()  # ...a write commits meanwhile...
    review_cache.keep_counts(slot, ({"users_count": 1}, timezone.now()), 300)  # ...it keeps
    assert review_cache.read_counts(None, 90)[1] is None
    assert review.review_totals(None, stale_days=90).counts["users_count"] == 3
    assert review.review_totals(None, stale_days=90).kept


def test_page_rows_agree_with_the_one_resolver_cold_and_warm(people, django_assert_num_queries):
    group = GroupFactory(name="Billing", defaults=mask_of(["read"]))
    Rule.objects.create(group=group, area="billing", actions=mask_of(["read", "update"]))
    people["stale"].access_groups.add(group)
    Rule.objects.create(user=people["never"], area="cdr", actions=mask_of(["read"]))
    Rule.objects.create(user=people["never"], area="user", actions=mask_of(["read"]), effect="deny")
    users = list(User.objects.order_by("email"))
    cutoff = review.stale_cutoff(90)
    expected = [row.area_letters for row in review.summarize(users, cutoff=cutoff)]
    with django_assert_num_queries(4):  # memberships, rules, stamps, group names
        cold = review.summarize_page(users, cutoff=cutoff)
    with django_assert_num_queries(1):  # group names
        warm = review.summarize_page(users, cutoff=cutoff)
    assert [row.area_letters for row in cold] == expected
    assert [row.area_letters for row in warm] == expected
    assert [row.groups for row in warm] == [[], [], ["Billing"]]  # ada, never, stale
    for user in users:
        assert effective_permissions_of([user])[user.pk].cache_value() == (
            effective_permissions(user).cache_value()
        )


def test_a_row_whose_stamp_changed_meanwhile_is_not_cached(people, django_assert_num_queries):
    never = people["never"]  # loaded before the change below
    User.objects.filter(pk=never.pk).update(access_stamp="changed-meanwhile")
    effective_permissions_of([never])
    with django_assert_num_queries(3):  # not kept: resolved again (and checked again)
        effective_permissions_of([never])
    never.refresh_from_db()
    effective_permissions_of([never])
    with django_assert_num_queries(0):
        effective_permissions_of([never])
