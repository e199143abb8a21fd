"""The outbox: a mail is recorded with the change that causes it, sent after that commits,
kept and retried when the mail server fails, never sent for a change that rolled back,
and sent once however many senders race for it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.db import transaction
from django.test import RequestFactory
from django.utils import timezone

from accounts import lifecycle
from accounts.models import User
from controlpanel.audit.models import AuditEntry
from controlpanel.kit.areas import mask_of
from controlpanel.outbox import sending
from controlpanel.outbox.models import OutboxMessage, OutboxState
from permissions.models import Rule
from tests.factories import GroupFactory, ResellerFactory, UserFactory

REFUSING = "tests.outbox.backends.RefusingBackend"
RESET = "/accounts/password-reset/"
OUTBOX = "/settings/outbox/"


def _request():
    request = RequestFactory().post("/", REMOTE_ADDR="127.0.0.1")
    return request


def _time_passes():
    """Every waiting mail's next attempt comes due (as if its backoff had elapsed)."""
    OutboxMessage.objects.filter(state=OutboxState.QUEUED).update(
        next_attempt_at=timezone.now() - timedelta(seconds=1)
    )


def invited(email="ivy@example.com", **fields) -> User:
    return User.objects.create_user(email, None, name="Ivy Invited", role="user", **fields)


# --- Recording and sending -----------------------------------------------------------------


def test_a_reset_request_is_recorded_and_then_sent(client, staff):
    client.post(RESET, {"email": staff.email})
    (row,) = OutboxMessage.objects.all()
    assert (row.state, row.to, row.kind, row.attempts) == ("sent", staff.email, "password_reset", 1)
    (sent,) = mail.outbox
    assert sent.to == [staff.email] and sent.subject == row.subject


def test_a_link_mail_keeps_no_copy_of_its_link_once_sent(client, staff):
    client.post(RESET, {"email": staff.email})
    row = OutboxMessage.objects.get()
    assert row.sensitive and row.body == ""
    assert "/accounts/password-reset/" in mail.outbox[0].body


def test_an_smtp_failure_leaves_the_mail_queued_and_a_later_run_sends_it(
    client_as, admin, settings, manage
):
    settings.EMAIL_BACKEND = REFUSING
    response = client_as(admin).post(
        "/settings/users/new/",
        {"email": "nina@example.com", "name": "Nina New", "role": "user", "timezone": "UTC"},
    )
    assert response.status_code == 302  # the server being down no longer fails the save
    assert User.objects.filter(email="nina@example.com").exists()
    row = OutboxMessage.objects.get(to="nina@example.com")
    assert row.state == OutboxState.QUEUED and row.attempts == 1
    assert "SMTPConnectError" in row.last_error and "service not available" in row.last_error
    assert row.next_attempt_at > timezone.now()
    assert mail.outbox == []

    assert manage("outbox", "send").out.strip() == "sent 0, failed 0, skipped 0"  # not due yet
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    _time_passes()
    assert manage("outbox", "send").out.strip() == "sent 1, failed 0, skipped 0"
    row.refresh_from_db()
    assert row.state == OutboxState.SENT and row.attempts == 2 and row.last_error == ""
    (invite,) = mail.outbox
    assert invite.to == ["nina@example.com"] and "/accounts/invite/" in invite.body


def test_a_rolled_back_change_sends_nothing(admin):
    ivy = invited()
    with pytest.raises(RuntimeError), transaction.atomic():
        lifecycle.user_send_invite(user=ivy, actor=admin, request=_request())
        raise RuntimeError("the rest of the change failed")
    assert not OutboxMessage.objects.exists()
    assert mail.outbox == []


def test_a_failing_mail_backs_off_and_is_failed_after_the_last_attempt(admin, settings):
    settings.EMAIL_BACKEND = REFUSING
    settings.OUTBOX_MAX_ATTEMPTS = 3
    lifecycle.user_send_invite(user=invited(), actor=admin, request=_request())
    row = OutboxMessage.objects.get()
    waits = []
    for _ in range(2):
        row.refresh_from_db()
        waits.append(row.next_attempt_at - timezone.now())
        _time_passes()
        sending.send_due()
    row.refresh_from_db()
    assert row.state == OutboxState.FAILED and row.attempts == 3
    assert timedelta(seconds=50) < waits[0] <= timedelta(minutes=1)
    assert timedelta(minutes=1, seconds=50) < waits[1] <= timedelta(minutes=2)
    assert sending.send_due().sent == 0  # a failed mail waits for a person


def test_a_claimed_mail_is_not_sent_twice(admin, settings):
    settings.EMAIL_BACKEND = REFUSING
    lifecycle.user_send_invite(user=invited(), actor=admin, request=_request())
    row = OutboxMessage.objects.get()
    _time_passes()
    assert sending.claim(row.pk) is not None
    assert sending.claim(row.pk) is None  # the second sender finds it taken
    assert sending.deliver(row.pk) == "skipped"


def test_a_sender_that_died_mid_send_gives_the_mail_back_after_its_lease(admin, settings):
    settings.EMAIL_BACKEND = REFUSING
    lifecycle.user_send_invite(user=invited(), actor=admin, request=_request())
    row = OutboxMessage.objects.get()
    OutboxMessage.objects.filter(pk=row.pk).update(
        state=OutboxState.SENDING, claimed_until=timezone.now() - timedelta(seconds=1)
    )
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert sending.send_due().sent == 1
    assert len(mail.outbox) == 1


# --- The page, the API and the command, under the access model -------------------------------


def _reader(*, reseller=None, actions=("read",), email=None):
    group = GroupFactory(defaults=0)
    Rule.objects.create(group=group, area="outbox", actions=mask_of(actions))
    return UserFactory(groups=[group], reseller=reseller, **({"email": email} if email else {}))


@pytest.fixture
def failed_mails(admin, settings):
    """One failed mail to a direct user and one to each of two resellers' users."""
    settings.EMAIL_BACKEND = REFUSING
    settings.OUTBOX_MAX_ATTEMPTS = 1
    acme, globex = ResellerFactory(name="Acme"), ResellerFactory(name="Globex")
    people = (
        invited("dora@example.com"),
        invited("arne@acme.example", reseller=acme),
        invited("gina@globex.example", reseller=globex),
    )
    for person in people:
        lifecycle.user_send_invite(user=person, actor=admin, request=_request())
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    return {"acme": acme, "globex": globex}


def test_the_page_shows_failed_mail_with_its_error(client_as, admin, failed_mails):
    body = client_as(admin).get(OUTBOX, {"state": "failed"}).content.decode()
    for email in ("dora@example.com", "arne@acme.example", "gina@globex.example"):
        assert email in body
    assert "SMTPConnectError" in body and "Send again" in body
    assert "/accounts/invite/" not in body  # a link mail never shows its text


def test_a_resellers_user_sees_only_their_resellers_mail(client_as, failed_mails):
    rita = _reader(reseller=failed_mails["acme"])
    body = client_as(rita).get(OUTBOX).content.decode()
    assert "arne@acme.example" in body
    assert "gina@globex.example" not in body and "dora@example.com" not in body
    assert "Send again" not in body  # read only


def test_the_page_and_its_link_need_read_on_the_outbox(client_as, outsider, failed_mails):
    assert client_as(outsider).get(OUTBOX).status_code == 403
    assert 'href="/settings/outbox/"' not in client_as(outsider).get("/").content.decode()
    reader = _reader()
    assert 'href="/settings/outbox/"' in client_as(reader).get("/").content.decode()


def test_sending_again_needs_update_and_is_audited(client_as, failed_mails):
    row = OutboxMessage.objects.get(to="gina@globex.example")
    reader = _reader()
    assert client_as(reader).post(f"{OUTBOX}{row.pk}/retry/").status_code == 403
    rita = _reader(reseller=failed_mails["acme"], actions=("read", "update"))
    assert client_as(rita).post(f"{OUTBOX}{row.pk}/retry/").status_code == 404  # not theirs
    editor = _reader(actions=("read", "update"), email="ed@example.com")
    response = client_as(editor).post(f"{OUTBOX}{row.pk}/retry/")
    assert response.status_code == 302
    row.refresh_from_db()
    assert row.state == OutboxState.SENT
    assert [m.to for m in mail.outbox] == [["gina@globex.example"]]
    entry = AuditEntry.objects.get(action="mail sent again")
    assert entry.actor == editor and entry.object_id == str(row.pk)


def test_a_sent_mail_cannot_be_sent_again(client_as, admin, staff, client):
    client.post(RESET, {"email": staff.email})
    row = OutboxMessage.objects.get()
    response = client_as(admin).post(f"{OUTBOX}{row.pk}/retry/", follow=True)
    assert "this one is sent" in response.content.decode()
    assert len(mail.outbox) == 1


def test_the_command_lists_by_state_and_sends_again(manage, failed_mails):
    listed = manage("outbox", "list", "--state", "failed")
    assert listed.status == 0
    assert listed.out.count("failed") == 3 and "SMTPConnectError" in listed.out
    assert manage("outbox", "list", "--state", "sent").out.count("\n") == 1  # the header
    row = OutboxMessage.objects.get(to="dora@example.com")
    result = manage("outbox", "retry", str(row.pk))
    assert result.status == 0 and mail.outbox[0].to == ["dora@example.com"]
    assert AuditEntry.objects.filter(action="mail sent again", actor_label="outbox command")


def test_the_command_as_a_user_asks_the_resolver_and_the_scope(manage, outsider, failed_mails):
    denied = manage("outbox", "list", "--as", outsider.email)
    assert denied.status == 3 and "may not read the outbox" in denied.err
    rita = _reader(reseller=failed_mails["acme"], email="rita@acme.example")
    listed = manage("outbox", "list", "--as", rita.email)
    assert "arne@acme.example" in listed.out and "gina@globex.example" not in listed.out
    row = OutboxMessage.objects.get(to="gina@globex.example")
    assert manage("outbox", "retry", str(row.pk), "--as", rita.email).status == 3
    assert manage("outbox", "list", "--as", "nobody@example.com").status == 2


def test_the_outbox_page_costs_the_same_queries_for_many_rows(
    client_as, admin, failed_mails, django_assert_max_num_queries
):
    client = client_as(admin)
    client.get(OUTBOX)
    with django_assert_max_num_queries(12) as few:
        client.get(OUTBOX)
    for n in range(40):
        lifecycle.user_send_invite(
            user=invited(f"bulk{n}@example.com"), actor=admin, request=_request()
        )
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get(OUTBOX)


def test_a_page_past_the_end_shows_the_first(client_as, admin, failed_mails):
    response = client_as(admin).get(OUTBOX, {"page": 9})
    assert response.status_code == 200 and "dora@example.com" in response.content.decode()
