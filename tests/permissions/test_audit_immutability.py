"""Audit entries cannot be changed or deleted through any interface; the retention
command is the one way old entries go, and it leaves its own entry."""

import datetime
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import IntegrityError, transaction
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone

from accounts.models import User
from controlpanel.audit import log as audit
from controlpanel.audit.models import AuditEntry, AuditImmutableError
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parent.parent.parent


@pytest.fixture
def written(admin):
    return audit.record(audit.Action.UPDATE, actor=admin, obj=admin, message="original")


def unchanged(entry) -> bool:
    fresh = AuditEntry.objects.get(pk=entry.pk)
    return (fresh.message, fresh.action, fresh.actor_id) == (
        "original",
        audit.Action.UPDATE,
        entry.actor_id,
    )


def test_saving_an_existing_entry_is_refused(written):
    written.message = "rewritten"
    with pytest.raises(AuditImmutableError):
        written.save()
    assert unchanged(written)


def test_a_new_object_carrying_an_existing_id_cannot_overwrite_it(written):
    forged = AuditEntry(pk=written.pk, actor_label="mallory", action="login", message="forged")
    with pytest.raises(IntegrityError), transaction.atomic():
        forged.save()
    assert unchanged(written)


def test_deleting_an_entry_is_refused(written):
    with pytest.raises(AuditImmutableError):
        written.delete()
    assert AuditEntry.objects.filter(pk=written.pk).exists()


def test_queryset_update_is_refused(written):
    with pytest.raises(AuditImmutableError):
        AuditEntry.objects.filter(pk=written.pk).update(message="rewritten")
    with pytest.raises(AuditImmutableError):
        AuditEntry.objects.update(actor_label="nobody")
    assert unchanged(written)


def test_queryset_delete_is_refused(written):
    with pytest.raises(AuditImmutableError):
        AuditEntry.objects.all().delete()
    with pytest.raises(AuditImmutableError):
        AuditEntry.objects.filter(pk=written.pk).delete()
    assert AuditEntry.objects.filter(pk=written.pk).exists()


def test_bulk_update_and_update_or_create_are_refused(written):
    written.message = "rewritten"
    with pytest.raises(AuditImmutableError):
        AuditEntry.objects.bulk_update([written], ["message"])
    with pytest.raises(AuditImmutableError):
        AuditEntry.objects.update_or_create(pk=written.pk, defaults={"message": "rewritten"})
    assert unchanged(written)


def test_deleting_a_user_keeps_their_entries_and_the_label_says_who(admin):
    leaver = UserFactory(email="leaver@example.com")
    audit.record(audit.Action.LOGIN, actor=leaver, obj=leaver)
    audit.record(audit.Action.UPDATE, actor=leaver, obj=admin, message="changed ada")

    leaver.delete()

    entries = AuditEntry.objects.filter(actor_label="leaver@example.com")
    assert entries.count() == 2
    assert set(entries.values_list("actor_id", flat=True)) == {None}
    assert not User.objects.filter(email="leaver@example.com").exists()


def _audit_routes():
    def walk(patterns, prefix=""):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                yield from walk(pattern.url_patterns, prefix + str(pattern.pattern))
            elif isinstance(pattern, URLPattern):
                yield prefix + str(pattern.pattern)

    return [r for r in walk(get_resolver().url_patterns) if r.startswith("settings/audit/")]


def test_every_audit_url_answers_writes_with_405(client_as, admin, written):
    routes = _audit_routes()
    assert routes == ["settings/audit/", "settings/audit/<int:pk>/"]
    client = client_as(admin)
    for route in routes:
        url = "/" + route.replace("<int:pk>", str(written.pk))
        assert client.get(url).status_code == 200
        for method in ("post", "put", "patch", "delete"):
            assert getattr(client, method)(url).status_code == 405, (method, url)
    assert unchanged(written)


# --- prune_audit --------------------------------------------------------------------------


def aged(days: float, message: str) -> AuditEntry:
    when = timezone.now() - datetime.timedelta(days=days)
    return AuditEntry.objects.create(at=when, actor_label="system", action="login", message=message)


def prune(*args) -> str:
    out = StringIO()
    call_command("prune_audit", *args, stdout=out)
    return out.getvalue()


def test_prune_deletes_only_entries_older_than_the_given_days():
    old = [aged(400, "old"), aged(31, "old too")]
    recent = [aged(29, "recent"), aged(0, "today")]

    output = prune("--older-than", "30")

    assert output == "Deleted 2 audit entries older than 30 days.\n"
    remaining = set(AuditEntry.objects.exclude(action="prune").values_list("pk", flat=True))
    assert remaining == {e.pk for e in recent}
    assert not AuditEntry.objects.filter(pk__in=[e.pk for e in old]).exists()


def test_prune_leaves_one_entry_saying_what_it_pruned():
    aged(100, "old")
    aged(100, "old")
    prune("--older-than", "90")
    entry = AuditEntry.objects.get(action="prune")
    assert entry.actor_label == "prune_audit"
    assert entry.message.startswith("Pruned 2 audit entries older than 90 days")
    assert entry.changes["deleted"] == {"after": 2}


def test_prune_works_through_many_batches():
    for i in range(7):
        aged(50, f"old {i}")
    assert prune("--older-than", "10", "--batch-size", "2").startswith("Deleted 7 ")
    assert AuditEntry.objects.exclude(action="prune").count() == 0


def test_prune_with_nothing_old_deletes_nothing_and_says_so():
    keep = aged(1, "recent")
    assert prune("--older-than", "365") == "Deleted 0 audit entries older than 365 days.\n"
    assert AuditEntry.objects.filter(pk=keep.pk).exists()


@pytest.mark.parametrize("days", ["0", "-5", "abc", "1.5", ""])
def test_prune_refuses_a_days_value_that_is_not_a_positive_whole_number(days):
    keep = aged(1000, "old")
    with pytest.raises(CommandError) as refused:
        prune("--older-than", days)
    assert refused.value.returncode == 2
    assert "--older-than" in str(refused.value) and "positive whole number" in str(refused.value)
    assert AuditEntry.objects.filter(pk=keep.pk).exists()
    assert not AuditEntry.objects.filter(action="prune").exists()


def test_prune_needs_older_than():
    with pytest.raises(CommandError, match="--older-than"):
        prune()


def test_prune_from_the_shell_exits_2_with_a_clear_message():
    result = subprocess.run(
        [sys.executable, "manage.py", "prune_audit", "--older-than", "soon"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 2
    assert "'soon' is not a number of days" in result.stderr
