"""The fixed cast: an administrator, a staff user in a group, a reseller's user and an
outsider (signed in, no groups). Tests read like stories about them."""

import io
import sys
from dataclasses import dataclass

import pytest
from django.core.cache import cache
from django.core.management import CommandError, call_command
from hypothesis import settings as hypothesis_settings

from controlpanel.kit.areas import mask_of
from permissions.models import Rule

from .factories import (
    TEST_PASSWORD,
    AdminFactory,
    GroupFactory,
    ResellerFactory,
    UserFactory,
)

# Property tests check behaviour, never speed: Hypothesis's per-example deadline would
# turn a loaded machine into a failing test (the project's rule: no timed tests).
hypothesis_settings.register_profile("panel", deadline=None)
hypothesis_settings.load_profile("panel")


@pytest.fixture(autouse=True)
def _clear_cache():
    cache.clear()
    yield
    cache.clear()


def _only_test_case_blocks(connection) -> bool:
    return all(getattr(block, "_from_testcase", False) for block in connection.atomic_blocks)


def _is_outbox_delivery(func) -> bool:
    return getattr(func, "enqueues_task", False)


@pytest.fixture(autouse=True)
def _outbox_delivers_at_commit(monkeypatch):
    """Inside a test's wrapping transaction (pytest-django's ``db``) nothing commits, so
    on-commit callbacks would never run. The callbacks that enqueue the panel's tasks
    (``controlpanel.outbox.services.run_after_commit``: mail delivery, alerts) run here where a
    real commit would run them: when the outermost transaction the code itself opened ends
    without an error, or at once when the code opened none (autocommit). A rolled-back
    block drops them, as Django does. Other on-commit callbacks are left as they are."""
    from django.db.backends.base.base import BaseDatabaseWrapper
    from django.db.transaction import Atomic, get_connection

    original_on_commit = BaseDatabaseWrapper.on_commit
    original_exit = Atomic.__exit__

    def on_commit(self, func, robust=False):
        if _is_outbox_delivery(func) and self.in_atomic_block and _only_test_case_blocks(self):
            func()
            return None
        return original_on_commit(self, func, robust)

    def exit_(self, exc_type, exc_value, traceback):
        outcome = original_exit(self, exc_type, exc_value, traceback)
        connection = get_connection(self.using)
        if (
            exc_type is None
            and not self._from_testcase
            and connection.in_atomic_block
            and _only_test_case_blocks(connection)
        ):
            due = [entry for entry in connection.run_on_commit if _is_outbox_delivery(entry[1])]
            connection.run_on_commit = [
                entry for entry in connection.run_on_commit if not _is_outbox_delivery(entry[1])
            ]
            for _, func, _ in due:
                func()
        return outcome

    monkeypatch.setattr(BaseDatabaseWrapper, "on_commit", on_commit)
    monkeypatch.setattr(Atomic, "__exit__", exit_)


@pytest.fixture
def password():
    return TEST_PASSWORD


@pytest.fixture
def admin(db):
    return AdminFactory(email="ada@example.com", name="Ada Admin")


@pytest.fixture
def staff_group(db):
    group = GroupFactory(name="Network Services Engineers")
    Rule.objects.create(
        group=group, area="routing", actions=mask_of(["create", "read", "update", "delete"])
    )
    Rule.objects.create(group=group, area="carrier", actions=mask_of(["read"]))
    return group


@pytest.fixture
def staff(db, staff_group):
    return UserFactory(email="sam@example.com", name="Sam Staff", groups=[staff_group])


@pytest.fixture
def reseller(db):
    return ResellerFactory(name="Acme Telecom")


@pytest.fixture
def reseller_user(db, reseller):
    group = GroupFactory(name="Reseller", defaults=mask_of(["read"]))
    return UserFactory(
        email="rita@acme.example", name="Rita Reseller", reseller=reseller, groups=[group]
    )


@pytest.fixture
def outsider(db):
    return UserFactory(email="olly@example.com", name="Olly Outsider")


@pytest.fixture
def client_as(client):
    """Sign the test client in as a user: ``client_as(staff).get(...)``."""

    def sign_in(user):
        client.force_login(user)
        return client

    return sign_in


@dataclass
class CommandResult:
    status: int
    out: str
    err: str


@pytest.fixture
def manage(monkeypatch):
    """Run a management command as ``manage.py`` would and return its exit status and
    output: ``manage("check_access", email, "customer", "read").status``. A CommandError
    becomes its return code with "CommandError: ..." on stderr, and SystemExit its code,
    exactly as ``manage.py`` turns them into the process's exit status."""

    def run(name, *args, stdin: str | None = None, **options) -> CommandResult:
        out, err = io.StringIO(), io.StringIO()
        if stdin is not None:
            monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        status = 0
        try:
            call_command(name, *args, stdout=out, stderr=err, **options)
        except CommandError as error:
            err.write(f"CommandError: {error}\n")
            status = error.returncode
        except SystemExit as exit_:
            status = exit_.code if isinstance(exit_.code, int) else 1
        return CommandResult(status, out.getvalue(), err.getvalue())

    return run


@pytest.fixture
def manager_group(db):
    """A non-administrator group that manages users and groups and holds a few business
    permissions: what its members may grant is exactly what they hold."""
    group = GroupFactory(name="User managers")
    crud = mask_of(["create", "read", "update", "delete"])
    for area in ("user", "group", "customer"):
        Rule.objects.create(group=group, area=area, actions=crud)
    Rule.objects.create(group=group, area="billing", actions=mask_of(["read"]))
    return group


@pytest.fixture
def manager(db, manager_group):
    """Mia manages users and groups but is not an administrator."""
    return UserFactory(email="mia@example.com", name="Mia Manager", groups=[manager_group])
