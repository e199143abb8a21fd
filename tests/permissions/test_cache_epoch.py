"""A cached permission answer belongs to one database state (ACCESS_MODEL.md, Requests):
a database emptied by ``flush``, restored from a backup, loaded by ``import_access`` or
merely sharing the cache never gets an answer written for another.

These tests keep the cache across the flush, as a shared Redis would. Run them on
PostgreSQL and Redis too (see docs/security.md, "Cache isolation")."""

import json

import pytest
from django.core.cache import cache
from django.core.management import call_command

from accounts.models import User
from controlpanel.kit.areas import mask_of
from permissions import transfer
from permissions.models import Effect, Group, Rule
from permissions.resolver import cache_key, effective_permissions
from tests.factories import GroupFactory, UserFactory


def fresh(user) -> User:
    return User.objects.get(pk=user.pk)


def can(user, area="customer", action="read") -> bool:
    return effective_permissions(fresh(user)).can(area, action)


def access_file(groups: list[str]) -> str:
    return json.dumps(
        {
            "resellers": [],
            "groups": [{"name": "Everything"}],
            "users": [{"email": "ana@example.com", "role": "user", "groups": groups}],
        }
    )


@pytest.mark.django_db(transaction=True)
def test_a_new_user_after_flush_does_not_get_the_old_users_cached_access():
    call_command("flush", interactive=False, verbosity=0)  # ids start again from 1
    transfer.import_access(access_file(groups=["Everything"]))
    before = User.objects.get(email="ana@example.com")
    assert can(before, "billing", "delete")  # the cache now holds ana's full CRUD

    call_command("flush", interactive=False, verbosity=0)  # the cache is kept
    transfer.import_access(access_file(groups=[]))
    # The new ana has the old one's id; by her own history she reaches the same version.
    User.objects.filter(email="ana@example.com").update(access_version=before.access_version)
    after = User.objects.get(email="ana@example.com")

    assert (after.pk, after.access_version) == (before.pk, before.access_version)
    assert not can(after, "billing", "delete")
    assert not can(after, "customer", "read")


@pytest.mark.django_db(transaction=True)
def test_a_second_database_sharing_the_cache_gets_no_answer_written_for_the_first():
    everything = GroupFactory(name="Everything")
    first = UserFactory(groups=[everything])
    assert can(first, "carrier", "update")
    first_row = fresh(first)

    call_command("flush", interactive=False, verbosity=0)
    # The other database's user: the same id and version, no groups at all.
    other = User.objects.create(
        pk=first_row.pk, email="bo@example.com", role="user", access_version=0
    )
    User.objects.filter(pk=other.pk).update(access_version=first_row.access_version)

    assert not can(other, "carrier", "update")


@pytest.mark.django_db
def test_changes_after_a_restored_backup_never_meet_entries_written_after_the_backup():
    user = UserFactory()
    backup = fresh(user)  # the row as the backup holds it: no groups
    assert not can(user)

    user.access_groups.add(GroupFactory(name="Everything"))  # after the backup
    assert can(user, "billing", "delete")  # cached for the post-backup state

    # Restore: the row, its stamp and its (empty) memberships come back as they were,
    # without any signal, as pg_restore would bring them.
    Group.members.through.objects.filter(user_id=user.pk).delete()
    User.objects.filter(pk=user.pk).update(
        access_version=backup.access_version, access_stamp=backup.access_stamp
    )
    # The first change after the restore reaches the version the post-backup state had.
    Rule.objects.create(user=user, area="billing", actions=mask_of(["delete"]), effect=Effect.DENY)

    assert fresh(user).access_version == backup.access_version + 1
    assert not can(user, "billing", "delete")
    assert not can(user, "customer", "read")


@pytest.mark.django_db
def test_import_gives_every_user_it_changes_a_new_stamp():
    transfer.import_access(access_file(groups=["Everything"]))
    ana = User.objects.get(email="ana@example.com")
    assert can(ana, "billing", "delete")

    transfer.import_access(access_file(groups=[]))

    assert fresh(ana).access_stamp != ana.access_stamp
    assert not can(ana, "billing", "delete")


@pytest.mark.django_db
def test_every_key_carries_the_code_version_the_user_and_the_stamp():
    user = fresh(UserFactory(groups=[GroupFactory()]))
    effective_permissions(user)
    key = cache_key(user)
    assert key.startswith("access:2:")
    assert key.endswith(f":{user.pk}:{user.access_version}:{user.access_stamp}")
    assert cache.get(key) is not None


@pytest.mark.django_db
def test_new_users_draw_different_stamps():
    stamps = {UserFactory().access_stamp for _ in range(20)}
    assert len(stamps) == 20
    assert all(len(stamp) == 32 for stamp in stamps)


@pytest.mark.django_db
def test_a_full_save_of_an_old_instance_keeps_the_current_stamp():
    user = UserFactory()
    stale = fresh(user)
    user.access_groups.add(GroupFactory())
    current = fresh(user).access_stamp
    assert current != stale.access_stamp

    stale.name = "Renamed"
    stale.save()

    assert fresh(user).access_stamp == current


@pytest.mark.django_db
def test_a_warm_check_still_reads_no_database(django_assert_num_queries):
    user = UserFactory(groups=[GroupFactory()])
    assert can(user)
    row = fresh(user)
    with django_assert_num_queries(0):
        assert effective_permissions(row).can("customer", "read")
