"""import_access / export_access at scale: writes in bulk (queries grow per batch, not
per user), a progress bar when asked, access versions bumped for exactly the affected
users, streaming reads that still find every error, and atomicity across batches."""

import json
import tracemalloc

import pytest
from django.db import IntegrityError, connection

from accounts.models import User
from controlpanel.audit.models import AuditEntry
from controlpanel.kit.areas import mask_of
from permissions import transfer
from permissions.models import Group, Rule
from permissions.resolver import effective_permissions
from permissions.transfer.validation import NO_ADMINISTRATOR_LEFT, SeenEmails
from resellers.models import Reseller
from tests.factories import AdminFactory, GroupFactory, RuleFactory, UserFactory

pytestmark = pytest.mark.django_db


def write_file(tmp_path, data, name="access.json") -> str:
    path = tmp_path / name
    path.write_text(json.dumps(data), encoding="utf-8")
    return str(path)


def database_rows() -> dict:
    return {
        "users": list(User.objects.order_by("pk").values()),
        "groups": list(Group.objects.order_by("pk").values()),
        "rules": list(Rule.objects.order_by("pk").values()),
        "members": list(Group.members.through.objects.order_by("pk").values()),
        "resellers": list(Reseller.objects.order_by("pk").values()),
        "audit": list(AuditEntry.objects.order_by("pk").values_list("pk", flat=True)),
    }


def many_users(count: int, **extra) -> list[dict]:
    return [
        {
            "email": f"user{number:05d}@example.com",
            "name": f"User {number}",
            "role": "user",
            "groups": ["Billing", "Readers"] if number % 2 else ["Readers"],
            "ip_whitelist": [f"10.{number % 250}.0."],
            "rules": [{"area": "cdr", "access": ["read"], "effect": "allow"}],
            **extra,
        }
        for number in range(count)
    ]


GROUPS = [
    {"name": "Billing", "rules": [{"area": "billing", "access": ["read"], "effect": "allow"}]},
    {"name": "Readers", "defaults": ["read"]},
]


def test_importing_many_users_costs_queries_per_batch_not_per_user(
    admin, django_assert_max_num_queries
):
    text = json.dumps({"groups": GROUPS, "users": many_users(1500)})
    # Two batches of 1,000: a handful of statements each (SQLite splits a bulk insert
    # into a few statements), against more than 4,500 for a user, membership and rule
    # saved one at a time; and six for the whole check of repeated e-mail addresses
    # (a savepoint, a temporary table, its rows, one query, the drop).
    with django_assert_max_num_queries(86):
        outcome = transfer.import_access(text)
    assert outcome.counts["users"]["created"] == 1500
    assert User.objects.filter(email__startswith="user").count() == 1500
    odd = User.objects.get(email="user00001@example.com")
    assert effective_permissions(odd).actions("billing") == ["read"]
    assert effective_permissions(odd).actions("cdr") == ["read"]
    # and again, nothing to change: a few reads per batch (and the six of the check)
    with django_assert_max_num_queries(26):
        again = transfer.import_access(text)
    assert again.counts["users"]["unchanged"] == 1500


def test_updating_many_users_is_batched_too(admin, django_assert_max_num_queries):
    transfer.import_access(json.dumps({"groups": GROUPS, "users": many_users(1500)}))
    changed = many_users(1500, timezone="Europe/London", groups=["Billing"], rules=[])
    # A few statements more than a create: each batch also inserts one audit entry per
    # user (SQLite splits that insert by its limit on parameters).
    with django_assert_max_num_queries(80):
        outcome = transfer.import_access(json.dumps({"groups": GROUPS, "users": changed}))
    assert outcome.counts["users"]["updated"] == 1500
    user = User.objects.get(email="user00002@example.com")
    assert user.timezone == "Europe/London"
    assert [g.name for g in user.access_groups.all()] == ["Billing"]
    assert not user.access_rules.exists()
    assert effective_permissions(user).actions("cdr") == []


def test_progress_bar_on_stderr_only_with_progress(manage, admin, tmp_path):
    path = write_file(tmp_path, {"groups": GROUPS, "users": many_users(30)})
    quiet = manage("import_access", path, "--dry-run")
    assert quiet.err == ""
    shown = manage("import_access", path, "--progress")
    assert shown.status == 0, shown.err
    assert "\rChecking" in shown.err and "\rImporting users" in shown.err
    assert "100% 30/30" in shown.err
    assert shown.out.splitlines() == [
        "resellers: 0 created, 0 updated, 0 unchanged",
        "groups: 2 created, 0 updated, 0 unchanged",
        "users: 30 created, 0 updated, 0 unchanged",
    ]
    plain = manage("export_access")
    assert plain.err == ""
    exported = manage("export_access", "--progress")
    assert exported.out == plain.out  # the JSON on stdout is untouched
    assert "\rExporting users [" in exported.err and "100% 31/31" in exported.err


def test_a_bulk_import_refreshes_the_cached_permissions_of_every_affected_member(
    manage, admin, tmp_path
):
    billing = GroupFactory(name="Billing")
    RuleFactory(group=billing, area="billing", actions=mask_of(["read"]))
    ana = UserFactory(email="ana@example.com", groups=[billing])
    bob = UserFactory(email="bob@example.com", groups=[billing])  # not in the file
    for user in (ana, bob):
        assert effective_permissions(user).can("billing", "read")  # cache warm
        assert not effective_permissions(user).can("cdr", "read")
    data = {
        "groups": [
            {"name": "Billing", "rules": [{"area": "cdr", "access": ["read"], "effect": "allow"}]},
            {"name": "Auditors", "defaults": ["read"]},
        ],
        "users": [{"email": "ana@example.com", "role": "user", "groups": ["Auditors"]}],
    }
    assert manage("import_access", write_file(tmp_path, data)).status == 0
    ana, bob = User.objects.get(pk=ana.pk), User.objects.get(pk=bob.pk)
    # Bob stays in Billing, whose rules changed; Ana moved to Auditors (read everywhere).
    assert not effective_permissions(bob).can("billing", "read")
    assert effective_permissions(bob).can("cdr", "read")
    assert effective_permissions(ana).can("billing", "read")
    assert not effective_permissions(ana).can("billing", "update")
    assert [g.name for g in ana.access_groups.all()] == ["Auditors"]


def test_a_file_with_one_bad_user_far_down_changes_nothing(manage, admin, tmp_path):
    users = many_users(2500)
    users[2400]["timezone"] = "Mars/Olympus"
    users[2401]["email"] = "USER00003@example.com"
    rows = database_rows()
    result = manage("import_access", write_file(tmp_path, {"groups": GROUPS, "users": users}))
    assert result.status == 1
    lines = result.err.splitlines()
    # a repeated address first, as before the file was streamed; then the items' errors
    assert lines[0] == (
        "users[2401].email: 'USER00003@example.com' is also users[3].email; each appears once"
    )
    assert lines[1].startswith("users[2400].timezone: Mars/Olympus is not a known time zone")
    assert lines[2] == "CommandError: 2 errors; nothing was changed."
    assert database_rows() == rows


def test_a_failure_in_a_later_batch_rolls_back_the_earlier_batches(admin, monkeypatch):
    rows = database_rows()
    calls = []
    original = transfer._create_users

    def fail_on_the_second_batch(items, groups, resellers, batch_size):
        calls.append(len(items))
        if len(calls) == 2:
            raise IntegrityError("simulated failure in the second batch")
        original(items, groups, resellers, batch_size)

    monkeypatch.setattr(transfer, "_create_users", fail_on_the_second_batch)
    text = json.dumps({"groups": GROUPS, "users": many_users(25)})
    with pytest.raises(IntegrityError):
        transfer.import_access(text, batch_size=10)
    assert calls == [10, 10]
    assert database_rows() == rows


def test_users_may_come_before_the_groups_they_name(admin):
    text = (
        '{"users": [{"email": "new@example.com", "role": "user", "groups": ["Late"]},'
        ' {"email": "bad@example.com", "groups": ["Nowhere"]}],'
        ' "groups": [{"name": "Late", "defaults": ["read"]}, {"name": "X", "defaults": ["x"]}]}'
    )
    with pytest.raises(transfer.ImportRefused) as refused:
        transfer.import_access(text)
    assert refused.value.errors == [
        "groups[1].defaults[0]: unknown action 'x'; use create, read, update or delete",
        "users[1].groups[0]: no group named 'Nowhere' in the file or the database",
    ]
    good = text.replace(', {"email": "bad@example.com", "groups": ["Nowhere"]}', "").replace(
        ', {"name": "X", "defaults": ["x"]}', ""
    )
    transfer.import_access(good)
    user = User.objects.get(email="new@example.com")
    assert [g.name for g in user.access_groups.all()] == ["Late"]


def test_malformed_json_far_into_a_large_file_names_its_line_and_column(manage, tmp_path):
    users = ",\n".join(json.dumps(u) for u in many_users(3000))
    text = '{"groups": ' + json.dumps(GROUPS) + ',\n"users": [\n' + users + "\n  {]\n}\n"
    path = tmp_path / "broken.json"
    path.write_text(text, encoding="utf-8")
    result = manage("import_access", str(path))
    assert result.status == 1
    with pytest.raises(json.JSONDecodeError) as expected:
        json.loads(text)
    error = expected.value  # the same place as Python's own json names
    assert result.err.splitlines()[0] == (
        f"line {error.lineno}, column {error.colno}: not valid JSON: "
        "after array element, I expect ',' or ']'"
    )
    assert error.lineno == 3003  # the line after the last user


def test_a_file_that_changes_between_the_two_reads_is_refused(admin):
    first = json.dumps({"groups": GROUPS, "users": many_users(3)})
    second = json.dumps({"groups": GROUPS, "users": many_users(4)})

    class Changing(transfer.Source):
        reads = 0

        def chunks(self):
            Changing.reads += 1
            yield (first if Changing.reads == 1 else second), 0

    rows = database_rows()
    with pytest.raises(transfer.ImportRefused) as refused:
        transfer.import_access(Changing(text=first))
    assert refused.value.errors == [transfer.FILE_CHANGED]
    assert database_rows() == rows


def test_a_mistake_in_the_middle_of_a_large_file_names_its_line_and_column(manage, tmp_path):
    lines = [json.dumps(user) + "," for user in many_users(3000)]
    lines[1499] = lines[1499].rstrip(",")  # no comma after users[1499]: more than a chunk in
    text = '{"groups": ' + json.dumps(GROUPS) + ',\n"users": [\n' + "\n".join(lines)[:-1] + "\n]}\n"
    path = tmp_path / "broken.json"
    path.write_text(text, encoding="utf-8")
    rows = database_rows()
    result = manage("import_access", str(path))
    assert result.status == 1
    assert result.err.splitlines()[0] == (
        "line 1503, column 1: not valid JSON: after array element, I expect ',' or ']'"
    )
    assert database_rows() == rows


def test_a_file_cut_short_says_so_at_its_end(manage, tmp_path):
    text = json.dumps({"groups": GROUPS, "users": many_users(2000)}, indent=1)
    cut = text[: len(text) * 2 // 3]
    path = tmp_path / "cut.json"
    path.write_text(cut, encoding="utf-8")
    result = manage("import_access", str(path))
    assert result.status == 1
    line = cut.count("\n") + 1
    column = len(cut) - cut.rfind("\n")
    assert result.err.splitlines()[0] == (
        f"line {line}, column {column}: not valid JSON: the file ends before the JSON does"
    )


def _checking_peak(tmp_path, count: int) -> tuple[int, int]:
    path = tmp_path / f"users-{count}.json"
    path.write_text(json.dumps({"groups": GROUPS, "users": many_users(count)}), encoding="utf-8")
    tracemalloc.start()
    try:
        transfer.validate(path, transfer.load_facts())
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return peak, path.stat().st_size


def test_checking_a_large_file_streams_it_in_bounded_memory(tmp_path, monkeypatch):
    # The addresses seen go to a temporary table 1,000 at a time, so both sizes hold at
    # most that many in memory.
    monkeypatch.setattr(SeenEmails, "FLUSH", 1000)
    small_peak, small_size = _checking_peak(tmp_path, 2000)
    large_peak, large_size = _checking_peak(tmp_path, 20000)
    # Ten times the users: the peak grows by less than a fifth of what the file did
    # (0.7 MiB; the 18,000 more addresses the check kept in a dict before took over
    # 2 MiB; reading the file whole would take several times the file's growth).
    assert large_peak - small_peak < (large_size - small_size) / 5


def test_repeated_addresses_far_apart_are_found_whatever_batch_they_were_kept_in(
    admin, monkeypatch
):
    # The addresses seen go to a temporary table a few rows at a time (here 7); a repeat
    # is found however far from its first appearance, by identity (case, spaces).
    monkeypatch.setattr(SeenEmails, "FLUSH", 7)
    users = many_users(50)
    users[30]["email"] = "user00010@example.com"
    users[45]["email"] = " User00002@EXAMPLE.com "
    users[46]["email"] = "user00002@example.com"
    rows = database_rows()
    with pytest.raises(transfer.ImportRefused) as refused:
        transfer.import_access(json.dumps({"groups": GROUPS, "users": users}))
    assert refused.value.errors == [
        "users[30].email: 'user00010@example.com' is also users[10].email; each appears once",
        "users[45].email: 'User00002@EXAMPLE.com' is also users[2].email; each appears once",
        "users[46].email: 'user00002@example.com' is also users[2].email; each appears once",
    ]
    assert database_rows() == rows


def test_the_table_of_addresses_is_gone_after_a_check_even_a_failed_one(admin):
    broken = '{"groups": [], "users": [{"email": "a@example.com"}, {"email": ]}'
    for _ in range(2):
        with pytest.raises(transfer.ImportRefused):
            transfer.validate(broken, transfer.load_facts())
    good = json.dumps({"users": [{"email": "a@example.com"}, {"email": "A@example.com"}]})
    for _ in range(2):  # the table is made anew each time: no "already exists"
        with pytest.raises(transfer.ImportRefused) as refused:
            transfer.validate(good, transfer.load_facts())
        assert refused.value.errors == [
            "users[1].email: 'A@example.com' is also users[0].email; each appears once"
        ]
    with connection.cursor() as cursor:
        tables = connection.introspection.table_names(cursor)
    assert SeenEmails.TABLE not in tables


def test_a_file_leaving_no_administrator_is_refused_at_each_of_theirs(admin, monkeypatch):
    # The administrators are looked up in the database from the check's table of
    # addresses (not kept in memory), a few rows at a time here.
    monkeypatch.setattr(SeenEmails, "FLUSH", 2)
    AdminFactory(email="second@example.com")
    users = many_users(9)  # all "role": "user"
    users.insert(3, {"email": admin.email.upper(), "role": "user"})
    users.append({"email": "second@example.com", "active": False})
    with pytest.raises(transfer.ImportRefused) as refused:
        transfer.validate(
            json.dumps({"groups": GROUPS, "users": users}), transfer.load_facts(lock=True)
        )
    assert refused.value.errors == [
        f"users[3].role: {NO_ADMINISTRATOR_LEFT}",
        f"users[10].active: {NO_ADMINISTRATOR_LEFT}",
    ]
    # one of them not in the file stays an administrator: accepted
    accepted = json.dumps({"groups": GROUPS, "users": users[:-1]})
    assert transfer.validate(accepted, transfer.load_facts()).user_count == 10
