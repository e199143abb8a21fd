"""The bulk writers the access import uses: ``kit.bulk.insert_new`` (new rows with their
keys, COPY on PostgreSQL) and ``audit.record_plain`` (audit entries from plain values),
against the model's own ``bulk_create`` / ``record_many`` they stand in for."""

import pytest

from accounts.models import Role, User, unusable_password
from controlpanel.audit import log as audit
from controlpanel.audit.models import AuditEntry
from controlpanel.kit.bulk import insert_new
from resellers.models import Reseller

pytestmark = pytest.mark.django_db

COMPARED = ("actor_id", "actor_label", "address", "action", "object_type", "object_id")


def test_insert_new_returns_the_keys_of_the_rows_in_order_with_the_models_defaults():
    acme = Reseller.objects.create(name="Acme")
    rows = [
        {"email": "b@example.com", "name": "B", "role": Role.USER, "password": unusable_password()},
        {
            "email": "a@example.com",
            "reseller_id": acme.pk,
            "ip_whitelist": [{"entry": "10.0.0.1", "network": "10.0.0.1/32"}],
            "access_version": 1,
            "password": unusable_password(),
        },
    ]
    ids = insert_new(User, rows)
    assert len(set(ids)) == 2
    b, a = (User.objects.get(pk=pk) for pk in ids)
    assert (b.email, b.name, b.role, b.reseller_id) == ("b@example.com", "B", Role.USER, None)
    assert (a.email, a.reseller_id, a.access_version) == ("a@example.com", acme.pk, 1)
    assert a.ip_whitelist == [{"entry": "10.0.0.1", "network": "10.0.0.1/32"}]
    model = User(email="c@example.com")  # what the model's defaults give
    for user in (a, b):
        assert user.timezone == model.timezone and user.is_active and not user.shared_ticket
        assert user.created_at is not None and user.updated_at is not None
        assert len(user.access_stamp) == len(model.access_stamp)
        assert not user.has_usable_password()
    assert a.access_stamp != b.access_stamp  # a callable default is drawn per row
    assert b.access_version == model.access_version
    assert insert_new(User, []) == []


def test_record_plain_writes_what_record_many_of_entry_for_writes():
    acme = Reseller.objects.create(name="Acme")
    rows = [
        (7, None, "Created user a@example.com.", {"email": {"after": "a@example.com"}}),
        (8, acme.pk, "Created user b@example.com.", {"role": {"after": "user"}, "password": 1}),
    ]
    audit.record_many(
        [
            audit.entry_for(
                audit.Action.CREATE,
                actor_label="import_access",
                object_type="user",
                object_id=object_id,
                reseller=reseller_id,
                message=message,
                changes=changes,
                plain_changes=True,
            )
            for object_id, reseller_id, message, changes in rows
        ]
    )
    audit.record_plain(
        audit.Action.CREATE, actor_label="import_access", object_type="user", rows=rows
    )
    entries = list(AuditEntry.objects.order_by("pk"))
    assert len(entries) == 4
    for many, plain in zip(entries[:2], entries[2:], strict=True):
        assert [getattr(plain, name) for name in COMPARED] == [
            getattr(many, name) for name in COMPARED
        ]
        assert (plain.message, plain.changes, plain.reseller_id) == (
            many.message,
            many.changes,
            many.reseller_id,
        )
        assert plain.at is not None
    assert entries[3].changes == {"role": {"after": "user"}}  # a secret is never written
