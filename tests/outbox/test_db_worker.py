"""Production's path: with the database task backend a change only enqueues; nothing is
sent until a `db_worker` runs the task, and a failed send is retried by a deferred task."""

from __future__ import annotations

import pytest
from django.core import mail
from django.core.management import call_command
from django.test import RequestFactory

from accounts import lifecycle
from accounts.models import User
from controlpanel.outbox.models import OutboxMessage, OutboxState

pytestmark = pytest.mark.django_db(transaction=True)

DATABASE_TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}


def _worker():
    call_command("db_worker", "--batch", "--no-startup-delay", "--interval", "0", "--no-reload")


def test_the_worker_sends_what_the_web_request_queued(admin, settings):
    settings.TASKS = DATABASE_TASKS
    from django_tasks_db.models import DBTaskResult

    ivy = User.objects.create_user("ivy@example.com", None, name="Ivy", role="user")
    request = RequestFactory().post("/", REMOTE_ADDR="127.0.0.1")
    lifecycle.user_send_invite(user=ivy, actor=admin, request=request)
    row = OutboxMessage.objects.get()
    assert row.state == OutboxState.QUEUED and mail.outbox == []  # only enqueued
    assert DBTaskResult.objects.filter(task_path__endswith="deliver_message").count() == 1

    _worker()
    row.refresh_from_db()
    assert row.state == OutboxState.SENT
    assert [m.to for m in mail.outbox] == [["ivy@example.com"]]


def test_a_failed_send_schedules_its_own_retry(admin, settings):
    settings.TASKS = DATABASE_TASKS
    settings.EMAIL_BACKEND = "tests.outbox.backends.RefusingBackend"
    from django_tasks_db.models import DBTaskResult

    ivy = User.objects.create_user("ivy@example.com", None, name="Ivy", role="user")
    lifecycle.user_send_invite(
        user=ivy, actor=admin, request=RequestFactory().post("/", REMOTE_ADDR="127.0.0.1")
    )
    _worker()
    row = OutboxMessage.objects.get()
    assert row.state == OutboxState.QUEUED and row.attempts == 1
    retry = DBTaskResult.objects.filter(task_path__endswith="deliver_message").latest("enqueued_at")
    assert retry.run_after == row.next_attempt_at  # deferred to the backoff's time
