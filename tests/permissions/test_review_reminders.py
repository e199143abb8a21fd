"""The recurring access review: an administrator sets a cadence; when a review is due the
administrators and those who may read users are reminded once per cadence, with the
review's figures; the navigation says "Review due"; recording a review resets the clock."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from controlpanel.audit.models import AuditEntry
from controlpanel.kit.areas import mask_of
from permissions import review_schedule
from permissions.models import ReviewSchedule, Rule
from tests.factories import GroupFactory, ResellerFactory, UserFactory

REVIEW = "/settings/access-review/"


def _verified(user):
    user.email_verified_at = timezone.now()
    user.save()
    return user


@pytest.fixture
def cast(admin, staff):
    _verified(admin)
    _verified(staff)  # staff may not read users: never reminded
    readers = GroupFactory(defaults=0)
    Rule.objects.create(group=readers, area="user", actions=mask_of(["read"]))
    acme = ResellerFactory(name="Acme")
    return {
        "admin": admin,
        "una": _verified(UserFactory(email="una@example.com", groups=[readers])),
        "rita": _verified(UserFactory(email="rita@acme.example", groups=[readers], reseller=acme)),
        "unverified": UserFactory(email="uv@example.com", groups=[readers]),
        "lonely": UserFactory(email="lonely@acme.example", reseller=acme),  # in no group
    }


def _set_cadence(client, days):
    return client.post(f"{REVIEW}schedule/", {"cadence_days": days})


def _reminded():
    return sorted(m.to[0] for m in mail.outbox if m.subject.startswith("Access review due"))


def test_an_administrator_sets_the_cadence_on_the_review_page(client_as, cast):
    client = client_as(cast["admin"])
    assert 'action="/settings/access-review/schedule/"' in client.get(REVIEW).content.decode()
    assert _set_cadence(client, 90).status_code == 302
    assert ReviewSchedule.objects.get().cadence_days == 90
    entry = AuditEntry.objects.get(action="review schedule")
    assert entry.actor == cast["admin"] and entry.changes == {"cadence_days": [None, 90]}
    assert "Next review due" in client.get(REVIEW).content.decode()


def test_a_bad_cadence_is_refused_with_a_clear_message(client_as, cast):
    response = _set_cadence(client_as(cast["admin"]), 0)
    assert response.status_code == 302
    assert not ReviewSchedule.objects.exists()
    page = client_as(cast["admin"]).get(REVIEW).content.decode()
    assert "Ensure this value is greater than or equal to 1" in page


def test_who_may_not_update_users_cannot_set_it(client_as, cast, reseller_manager_of_acme):
    assert _set_cadence(client_as(cast["una"]), 30).status_code == 403
    assert _set_cadence(client_as(reseller_manager_of_acme), 30).status_code == 403
    assert not ReviewSchedule.objects.exists()


@pytest.fixture
def reseller_manager_of_acme(cast):
    group = GroupFactory(defaults=0)
    Rule.objects.create(group=group, area="user", actions=mask_of(["read", "update"]))
    return UserFactory(email="mo@acme.example", groups=[group], reseller=cast["rita"].reseller)


def test_a_due_review_reminds_once_per_cadence(cast):
    review_schedule.review_schedule_set(cadence_days=30, actor=cast["admin"], address=None)
    start = timezone.now()
    assert review_schedule.remind_if_due(start + timedelta(days=29)) == 0  # not due yet
    assert review_schedule.remind_if_due(start + timedelta(days=31)) == 3
    assert _reminded() == ["ada@example.com", "rita@acme.example", "una@example.com"]
    assert review_schedule.remind_if_due(start + timedelta(days=32)) == 0  # once per cadence
    assert review_schedule.remind_if_due(start + timedelta(days=60)) == 0
    assert review_schedule.remind_if_due(start + timedelta(days=62)) == 3  # next cadence
    assert len(_reminded()) == 6
    assert AuditEntry.objects.filter(action="review reminder").count() == 2


def test_the_reminder_carries_the_figures_each_reader_may_see(cast):
    review_schedule.review_schedule_set(cadence_days=30, actor=cast["admin"], address=None)
    review_schedule.remind_if_due(timezone.now() + timedelta(days=31))
    to_rita = next(m for m in mail.outbox if m.to == ["rita@acme.example"])
    to_admin = next(m for m in mail.outbox if m.to == ["ada@example.com"])
    assert "Users:                     2" in to_rita.body  # Acme's two users only
    assert "In no group:               1" in to_rita.body
    assert "of Acme's users" in to_rita.body
    assert "Users:                     6" in to_admin.body
    assert "/settings/access-review/" in to_admin.body


def test_recording_a_review_resets_the_clock(client_as, cast):
    client = client_as(cast["admin"])
    _set_cadence(client, 30)
    ReviewSchedule.objects.update(set_at=timezone.now() - timedelta(days=40))
    assert review_schedule.status().due
    assert "Review due" in client.get("/").content.decode()  # in the navigation
    client.post(f"{REVIEW}record/", {"stale_days": 90})
    state = review_schedule.status()
    assert not state.due and state.due_at > timezone.now() + timedelta(days=29)
    assert "Review due" not in client.get("/").content.decode()
    assert review_schedule.remind_if_due() == 0


def test_a_resellers_review_does_not_reset_the_panels_clock(
    client_as, cast, reseller_manager_of_acme
):
    review_schedule.review_schedule_set(cadence_days=30, actor=cast["admin"], address=None)
    ReviewSchedule.objects.update(set_at=timezone.now() - timedelta(days=40))
    client_as(reseller_manager_of_acme).post(f"{REVIEW}record/", {"stale_days": 90})
    assert review_schedule.status().due


def test_the_navigation_badge_is_only_for_who_sees_the_review(client_as, cast, staff):
    review_schedule.review_schedule_set(cadence_days=30, actor=cast["admin"], address=None)
    ReviewSchedule.objects.update(set_at=timezone.now() - timedelta(days=40))
    assert "Review due" not in client_as(staff).get("/").content.decode()
    assert "Review due" in client_as(cast["una"]).get("/").content.decode()


def test_the_command_reminds_when_due(manage, cast):
    assert "No review schedule" in manage("access_review_remind").out
    review_schedule.review_schedule_set(cadence_days=30, actor=cast["admin"], address=None)
    assert "Not due" in manage("access_review_remind").out
    ReviewSchedule.objects.update(set_at=timezone.now() - timedelta(days=31))
    assert "reminded 3 user(s)" in manage("access_review_remind").out
    assert "already sent" in manage("access_review_remind").out
    assert len(_reminded()) == 3


def test_the_navigation_reads_the_due_date_from_the_cache(cast, django_assert_num_queries):
    review_schedule.review_schedule_set(cadence_days=30, actor=cast["admin"], address=None)
    assert review_schedule.review_due_now() is False
    with django_assert_num_queries(0):
        assert review_schedule.review_due_now() is False
    ReviewSchedule.objects.update(set_at=timezone.now() - timedelta(days=40))
    review_schedule.review_schedule_set(cadence_days=10, actor=cast["admin"], address=None)
    ReviewSchedule.objects.update(set_at=timezone.now() - timedelta(days=11))
    assert review_schedule.review_due_now() is True  # the write forgot the cached date
