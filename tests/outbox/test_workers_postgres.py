"""Two senders drain one outbox on PostgreSQL, each on its own connection: every mail is
sent exactly once (the claim is one conditional UPDATE; candidates are picked with
SKIP LOCKED)."""

from __future__ import annotations

import threading
from collections import Counter

import pytest
from django.db import connection, connections

from controlpanel.outbox import sending
from controlpanel.outbox.models import OutboxMessage, OutboxState

from .backends import CountingBackend

pytestmark = pytest.mark.django_db(transaction=True)

MAILS = 300


@pytest.fixture
def on_postgresql():
    if connection.vendor != "postgresql":
        pytest.skip(
            "Needs PostgreSQL: SQLite serialises every write, so there is no concurrent "
            "claim to prove (CI runs this on the PostgreSQL leg)."
        )


def test_two_workers_drain_one_queue_and_send_every_mail_exactly_once(on_postgresql, settings):
    settings.EMAIL_BACKEND = "tests.outbox.backends.CountingBackend"
    CountingBackend.sent.clear()
    OutboxMessage.objects.bulk_create(
        OutboxMessage(kind="test", to=f"u{n}@example.com", subject=f"mail {n}", body="hello")
        for n in range(MAILS)
    )
    results, errors = [], []
    start = threading.Barrier(2)

    def worker():
        try:
            start.wait()
            results.append(sending.send_due(batch=20))
        except Exception as error:  # surfaced below
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors
    counts = Counter(CountingBackend.sent)
    assert len(counts) == MAILS and set(counts.values()) == {1}
    assert sum(r.sent for r in results) == MAILS
    assert all(r.sent > 0 for r in results), "both workers took a share"
    assert OutboxMessage.objects.filter(state=OutboxState.SENT).count() == MAILS
