"""manage.py set_password EMAIL: the password comes from standard input (asked twice on a
terminal), the validators run against that user, sessions end, the change is audited."""

import io

import pytest

from accounts.management.commands import set_password as command
from accounts.models import User
from controlpanel.audit.models import AuditEntry

pytestmark = pytest.mark.django_db

NEW = "a long and unusual passphrase 2026"


def fresh(user) -> User:
    return User.objects.get(pk=user.pk)


class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_the_password_is_read_from_standard_input(manage, staff):
    result = manage("set_password", "SAM@example.com", stdin=NEW + "\n")
    assert result.status == 0, result.err
    assert result.out == (
        "Password of sam@example.com changed; their sessions have ended and their API "
        "tokens were revoked.\n"
    )
    assert fresh(staff).check_password(NEW)


def test_the_user_signs_in_with_the_new_password(manage, staff, client):
    manage("set_password", staff.email, stdin=NEW + "\n")
    response = client.post("/accounts/login/", {"email": staff.email, "password": NEW})
    assert response.status_code == 302
    assert "/login" not in response["Location"]


def test_setting_a_password_ends_the_users_sessions(manage, staff, client_as):
    client = client_as(staff)
    assert client.get("/accounts/profile/").status_code == 200
    manage("set_password", staff.email, stdin=NEW + "\n")
    response = client.get("/accounts/profile/")
    assert response.status_code == 302
    assert "/login" in response["Location"]


def test_the_change_is_audited_without_the_password(manage, staff):
    manage("set_password", staff.email, stdin=NEW + "\n")
    entry = AuditEntry.objects.get(action="password change")
    assert (entry.actor_label, entry.object_id) == ("set_password", str(staff.pk))
    assert NEW not in entry.message
    assert NEW not in str(entry.changes)


def test_spaces_are_kept_and_only_the_line_ending_goes(manage, staff):
    manage("set_password", staff.email, stdin="  spaced out passphrase here  \r\n")
    assert fresh(staff).check_password("  spaced out passphrase here  ")


def test_every_validator_message_is_printed_and_nothing_changes(manage, staff, password):
    result = manage("set_password", staff.email, stdin="12345678\n")
    assert result.status == 1
    lines = result.err.splitlines()
    assert any("too short" in line for line in lines)
    assert any("too common" in line for line in lines)
    assert any("entirely numeric" in line for line in lines)
    assert lines[-1] == "CommandError: the password was not changed."
    assert fresh(staff).check_password(password)
    assert not AuditEntry.objects.filter(action="password change").exists()


def test_the_validators_compare_with_that_users_details(manage, staff, password):
    result = manage("set_password", staff.email, stdin="sam@example.com\n")
    assert result.status == 1
    assert "too similar to the e-mail" in result.err
    assert fresh(staff).check_password(password)


def test_an_unknown_user_exits_with_status_2(manage, db):
    result = manage("set_password", "ghost@example.com", stdin=NEW + "\n")
    assert result.status == 2
    assert "no user with the e-mail address 'ghost@example.com'" in result.err


def test_no_input_changes_nothing(manage, staff, password):
    result = manage("set_password", staff.email, stdin="")
    assert result.status == 1
    assert "no password on standard input" in result.err
    assert fresh(staff).check_password(password)


def test_an_empty_line_changes_nothing(manage, staff, password):
    result = manage("set_password", staff.email, stdin="\n")
    assert result.status == 1
    assert "the password is empty" in result.err
    assert fresh(staff).check_password(password)


def test_on_a_terminal_the_password_is_asked_twice(manage, staff, monkeypatch):
    prompts = []

    def answer(prompt):
        prompts.append(prompt)
        return NEW

    monkeypatch.setattr(command.getpass, "getpass", answer)
    monkeypatch.setattr(command.sys, "stdin", Terminal())
    result = manage("set_password", staff.email)
    assert result.status == 0
    assert prompts == ["New password: ", "New password (again): "]
    assert fresh(staff).check_password(NEW)


def test_on_a_terminal_two_different_answers_change_nothing(manage, staff, password, monkeypatch):
    answers = iter([NEW, NEW + "!"])
    monkeypatch.setattr(command.getpass, "getpass", lambda prompt: next(answers))
    monkeypatch.setattr(command.sys, "stdin", Terminal())
    result = manage("set_password", staff.email)
    assert result.status == 1
    assert "the two passwords do not match" in result.err
    assert fresh(staff).check_password(password)


def test_set_password_tells_a_verified_user_by_email_without_the_password(manage, mailoutbox):
    from django.utils import timezone

    from tests.factories import UserFactory

    user = UserFactory(email="told@example.com", email_verified_at=timezone.now())
    result = manage("set_password", user.email, stdin="a brand new passphrase 77\n")
    assert result.status == 0
    assert [m.to for m in mailoutbox] == [["told@example.com"]]
    assert "a brand new passphrase 77" not in mailoutbox[0].body
