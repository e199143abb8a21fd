"""Invitations, e-mail verification, forgot password and the notices that follow a
credential change, end to end: the link is read from the sent e-mail and opened."""

import re
from unittest import mock

import pytest
from axes.utils import reset as axes_reset
from django.core import mail
from django.utils import timezone

from accounts import lifecycle
from accounts.models import User
from accounts.tokens import LinkTokenGenerator
from controlpanel.audit.models import AuditEntry
from tests.factories import TEST_PASSWORD, AdminFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_lockouts_carried_over(db):
    axes_reset()
    yield
    axes_reset()


LOGIN = "/accounts/login/"
RESET = "/accounts/password-reset/"
NEW_PASSWORD = "a brand new passphrase for 2026"
LINK = re.compile(r"https?://[^\s]+")


def link_in(message) -> str:
    """The one link in an e-mail, as a path the test client can open."""
    (url,) = LINK.findall(message.body)
    return re.sub(r"^https?://[^/]+", "", url)


def later(seconds: int):
    """Move every link's clock forward (the token generators' notion of now)."""
    now = LinkTokenGenerator._now
    return mock.patch.object(
        LinkTokenGenerator,
        "_now",
        lambda self: now(self) + timezone.timedelta(seconds=seconds),
    )


def invited(email="ivy@example.com", **fields) -> User:
    return User.objects.create_user(email, None, name="Ivy Invited", role="user", **fields)


def verified(user: User) -> User:
    user.email_verified_at = timezone.now()
    user.save()
    return user


def open_link(client, path):
    """Open an e-mailed link: a valid one moves the token to the session and redirects
    to a token-free URL, which is then shown."""
    first = client.get(path)
    if first.status_code == 302:
        return first, client.get(first["Location"])
    return first, first


# --- Status -----------------------------------------------------------------------------


def test_status_reads_invited_then_active_then_deactivated(db):
    user = invited()
    assert user.status == "invited"
    user.set_password(TEST_PASSWORD)
    user.last_login = timezone.now()
    user.save()
    assert user.status == "active"
    user.is_active = False
    user.save()
    assert user.status == "deactivated"


# --- Invitations ------------------------------------------------------------------------


def test_invited_user_sets_a_password_from_the_link_and_can_sign_in(client_as, client, admin):
    user = invited()
    response = client_as(admin).post(f"/settings/users/{user.pk}/invite/")
    assert response.status_code == 302
    (message,) = mail.outbox
    assert message.to == ["ivy@example.com"]
    client.logout()

    first, page = open_link(client, link_in(message))
    assert first.status_code == 302
    assert "/set-password/" in first["Location"]  # the token left the address bar
    assert page["Referrer-Policy"] == "same-origin"
    assert "ivy@example.com" in page.content.decode()

    done = client.post(
        page.wsgi_request.path, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    )
    assert done.status_code == 302
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)
    assert user.is_verified  # the link proved the address
    signed_in = client.post(LOGIN, {"email": user.email, "password": NEW_PASSWORD})
    assert signed_in.status_code == 302
    user.refresh_from_db()
    assert user.status == "active"
    assert AuditEntry.objects.filter(action="invite accepted", object_id=str(user.pk)).exists()


def test_invitation_link_refuses_a_short_password_with_the_validator_message(client, admin):
    user = invited()
    lifecycle.user_send_invite(user=user, actor=admin, request=_request())
    _, page = open_link(client, link_in(mail.outbox[0]))
    response = client.post(
        page.wsgi_request.path, {"new_password1": "short", "new_password2": "short"}
    )
    assert response.status_code == 200
    assert "too short" in response.content.decode()
    user.refresh_from_db()
    assert not user.has_usable_password()


def test_invitation_link_works_only_once(client, admin):
    user = invited()
    lifecycle.user_send_invite(user=user, actor=admin, request=_request())
    path = link_in(mail.outbox[0])
    _, page = open_link(client, path)
    client.post(
        page.wsgi_request.path, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    )
    first, again = open_link(client, path)
    assert first.status_code == 200
    assert "This link does not work" in again.content.decode()


def test_expired_invitation_says_so_and_can_be_renewed_by_the_invitee(client, admin):
    user = invited()
    lifecycle.user_send_invite(user=user, actor=admin, request=_request())
    old = link_in(mail.outbox[0])
    with later(8 * 24 * 3600):
        page = client.get(old)
        assert page.status_code == 200
        body = page.content.decode()
        assert "This link has expired" in body
        renew = re.search(r'action="([^"]+/renew/)"', body).group(1)
        renewed = client.post(renew)
    assert renewed.status_code == 200
    assert len(mail.outbox) == 2
    # the old link is dead, the new one works
    assert "This link does not work" in client.get(old).content.decode()
    first, _ = open_link(client, link_in(mail.outbox[1]))
    assert first.status_code == 302


def test_renewing_with_a_live_or_forged_link_sends_nothing_and_says_the_same(client, admin):
    user = invited()
    lifecycle.user_send_invite(user=user, actor=admin, request=_request())
    live = link_in(mail.outbox[0])
    forged = live.rstrip("/").rsplit("/", 1)[0] + "/abc-123/"
    answers = [client.post(path + "renew/").content for path in (live, forged)]
    answers.append(client.post("/accounts/invite/OTk5OTk/abc-123/renew/").content)
    assert len(mail.outbox) == 1
    assert answers[0] == answers[1] == answers[2]


def test_tampered_and_unknown_invitation_links_give_the_same_page(client, admin):
    user = invited()
    lifecycle.user_send_invite(user=user, actor=admin, request=_request())
    path = link_in(mail.outbox[0])
    uid, token = path.strip("/").split("/")[-2:]
    flipped = token[:-1] + ("1" if token[-1] == "0" else "0")  # always a different token
    tampered = client.get(f"/accounts/invite/{uid}/{flipped}/")
    unknown = client.get(f"/accounts/invite/OTk5OTk/{token}/")
    assert tampered.status_code == unknown.status_code == 200
    assert tampered.content == unknown.content
    assert "This link does not work" in tampered.content.decode()


def test_resending_an_invitation_kills_the_earlier_link(client, admin):
    user = invited()
    lifecycle.user_send_invite(user=user, actor=admin, request=_request())
    lifecycle.user_send_invite(user=user, actor=admin, request=_request())
    old, new = (link_in(message) for message in mail.outbox)
    assert client.get(old).status_code == 200  # the "does not work" page, no redirect
    assert client.get(new).status_code == 302


def test_an_active_user_cannot_be_invited_again(client_as, admin, staff):
    response = client_as(admin).post(f"/settings/users/{staff.pk}/invite/", follow=True)
    assert "already accepted their invitation" in response.content.decode()
    assert mail.outbox == []


def test_non_administrator_cannot_invite_an_administrator(client_as, staff, settings):
    from controlpanel.kit.areas import mask_of
    from permissions.models import Rule

    Rule.objects.create(user=staff, area="user", actions=mask_of(["read", "update"]))
    other_admin = AdminFactory(email="newadmin@example.com", password=None)
    response = client_as(staff).post(f"/settings/users/{other_admin.pk}/invite/")
    assert response.status_code == 403
    assert mail.outbox == []


def test_user_without_update_on_users_cannot_invite(client_as, outsider):
    user = invited()
    assert client_as(outsider).post(f"/settings/users/{user.pk}/invite/").status_code == 403


def test_reseller_user_gets_404_for_another_resellers_user(client_as, reseller_user):
    from controlpanel.kit.areas import mask_of
    from permissions.models import Rule

    Rule.objects.create(user=reseller_user, area="user", actions=mask_of(["read", "update"]))
    stranger = invited("stranger@example.com")
    response = client_as(reseller_user).post(f"/settings/users/{stranger.pk}/invite/")
    assert response.status_code == 404


def test_invite_endpoint_needs_post(client_as, admin):
    user = invited()
    assert client_as(admin).get(f"/settings/users/{user.pk}/invite/").status_code == 405


# --- E-mail verification ----------------------------------------------------------------


def test_verification_link_marks_the_address_verified_once(client, staff):
    assert not staff.is_verified
    assert lifecycle.user_send_verification(user=staff, request=_request()) is True
    path = link_in(mail.outbox[0])
    response = client.get(path)
    assert response.status_code == 302
    assert response["Referrer-Policy"] == "same-origin"
    staff.refresh_from_db()
    assert staff.is_verified
    again = client.get(path)
    assert "This link does not work" in again.content.decode()


def test_verified_user_is_not_sent_another_verification(staff):
    verified(staff)
    assert lifecycle.user_send_verification(user=staff, request=_request()) is False
    assert mail.outbox == []


def test_changing_the_address_unverifies_it_and_kills_the_old_link(client, staff):
    lifecycle.user_send_verification(user=staff, request=_request())
    old = link_in(mail.outbox[0])
    verified(staff)
    staff.email = "sam.new@example.com"
    staff.save()
    staff.refresh_from_db()
    assert not staff.is_verified
    assert "This link does not work" in client.get(old).content.decode()


def test_address_change_through_the_user_service_unverifies_it(staff, admin):
    from permissions.user_services import user_update

    verified(staff)
    user_update(user=staff, email="sam.moved@example.com", actor=admin)
    staff.refresh_from_db()
    assert not staff.is_verified


def test_expired_verification_link_says_so(client, staff):
    lifecycle.user_send_verification(user=staff, request=_request())
    with later(4 * 24 * 3600):
        page = client.get(link_in(mail.outbox[0]))
    assert "This link has expired" in page.content.decode()
    staff.refresh_from_db()
    assert not staff.is_verified


def test_user_sends_themselves_a_verification_link_from_the_profile(client_as, staff):
    client = client_as(staff)
    assert "not verified" in client.get("/accounts/profile/").content.decode()
    response = client.post("/accounts/profile/verify-email/", follow=True)
    assert "A verification link was sent" in response.content.decode()
    client.get(link_in(mail.outbox[0]))
    assert "not verified" not in client.get("/accounts/profile/").content.decode()


# --- Forgot password --------------------------------------------------------------------


def test_reset_page_answers_the_same_for_known_and_unknown_addresses(client, staff):
    known = client.post(RESET, {"email": staff.email})
    unknown = client.post(RESET, {"email": "nobody@example.com"})
    assert known.status_code == unknown.status_code == 302
    assert known["Location"] == unknown["Location"]
    page = client.get(known["Location"])
    assert "If the address exists, a link was sent" in page.content.decode()
    assert len(mail.outbox) == 1 and mail.outbox[0].to == [staff.email]
    assert AuditEntry.objects.filter(action="reset requested").count() == 2


def test_reset_does_the_same_work_for_known_and_unknown_addresses(client, staff):
    """Equal work, so equal timing (bar one outbox row; the mail server is out of the
    request now): a token is made and the message rendered whether or not the address
    has an account."""
    work = {}
    for email in (staff.email, "nobody@example.com"):
        with (
            mock.patch.object(
                lifecycle.password_reset_tokens,
                "make_token",
                wraps=lifecycle.password_reset_tokens.make_token,
            ) as tokens,
            mock.patch.object(
                lifecycle.outbox, "render_mail", wraps=lifecycle.outbox.render_mail
            ) as messages,
        ):
            client.post(RESET, {"email": email})
        work[email] = (tokens.call_count, messages.call_count)
    assert work[staff.email] == work["nobody@example.com"] == (1, 1)


def test_reset_page_sends_nothing_to_inactive_or_invited_users(client, staff):
    staff.is_active = False
    staff.save()
    invited()
    for email in (staff.email, "ivy@example.com"):
        assert client.post(RESET, {"email": email}).status_code == 302
    assert mail.outbox == []


def test_login_page_links_to_forgot_password(client, db):
    assert 'href="/accounts/password-reset/"' in client.get(LOGIN).content.decode()


def test_reset_link_sets_a_new_password_and_ends_every_session(client, staff):
    other = _signed_in_client(staff)
    client.post(RESET, {"email": "SAM@example.com"})
    first, page = open_link(client, link_in(mail.outbox[0]))
    assert first.status_code == 302 and first["Location"].endswith("/set-password/")
    assert first["Referrer-Policy"] == page["Referrer-Policy"] == "same-origin"
    done = client.post(
        page.wsgi_request.path, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    )
    assert done.status_code == 302
    assert done["Location"] == LOGIN
    staff.refresh_from_db()
    assert staff.check_password(NEW_PASSWORD)
    assert other.get("/accounts/profile/").status_code == 302  # signed out elsewhere
    assert "_auth_user_id" not in client.session  # the reset does not sign anyone in


def test_reset_link_works_once(client, staff):
    client.post(RESET, {"email": staff.email})
    path = link_in(mail.outbox[0])
    _, page = open_link(client, path)
    client.post(
        page.wsgi_request.path, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    )
    _, again = open_link(client, path)
    assert "This link does not work" in again.content.decode()
    staff.refresh_from_db()
    assert staff.check_password(NEW_PASSWORD)


def test_reset_link_dies_when_the_password_changes_another_way(client, staff):
    client.post(RESET, {"email": staff.email})
    staff.set_password("changed by other means 2026")
    staff.save()
    first, page = open_link(client, link_in(mail.outbox[0]))
    assert first.status_code == 200
    assert "This link does not work" in page.content.decode()


def test_expired_reset_link_says_so(client, staff, settings):
    client.post(RESET, {"email": staff.email})
    with later(settings.PASSWORD_RESET_TIMEOUT + 1):
        page = client.get(link_in(mail.outbox[0]))
    assert page.status_code == 200
    assert "This link has expired" in page.content.decode()


def test_tampered_reset_link_and_unknown_user_give_the_same_page(client, staff):
    client.post(RESET, {"email": staff.email})
    uid, token = link_in(mail.outbox[0]).strip("/").split("/")[-2:]
    tampered = client.get(f"/accounts/password-reset/{uid}/{token[:-2]}zz/")
    unknown = client.get(f"/accounts/password-reset/OTk5OTk/{token}/")
    assert tampered.status_code == unknown.status_code == 200
    assert tampered.content == unknown.content


def test_reset_unlocks_a_locked_out_account(client, staff):
    for _ in range(10):
        client.post(LOGIN, {"email": staff.email, "password": "wrong wrong wrong"})
    client.post(RESET, {"email": staff.email})
    _, page = open_link(client, link_in(mail.outbox[0]))
    client.post(
        page.wsgi_request.path, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    )
    response = client.post(
        LOGIN, {"email": staff.email, "password": NEW_PASSWORD}, REMOTE_ADDR="198.51.100.20"
    )
    assert response.status_code == 302


# --- "Send a reset link instead" from the users page ------------------------------------


def test_administrator_sends_a_user_a_reset_link(client_as, client, admin, staff):
    response = client_as(admin).post(f"/settings/users/{staff.pk}/send-reset/")
    assert response.status_code == 302
    (message,) = mail.outbox
    assert message.to == [staff.email]
    assert "/accounts/password-reset/" in message.body
    assert AuditEntry.objects.filter(action="reset link sent", actor=admin).exists()


def test_reset_link_for_an_invited_user_is_refused_with_a_reason(client_as, admin):
    user = invited()
    response = client_as(admin).post(f"/settings/users/{user.pk}/send-reset/", follow=True)
    assert "re-send the invitation instead" in response.content.decode()
    assert mail.outbox == []


def test_non_administrator_cannot_send_an_administrator_a_reset_link(client_as, staff, admin):
    from controlpanel.kit.areas import mask_of
    from permissions.models import Rule

    Rule.objects.create(user=staff, area="user", actions=mask_of(["read", "update"]))
    response = client_as(staff).post(f"/settings/users/{admin.pk}/send-reset/")
    assert response.status_code == 403
    assert mail.outbox == []


# --- Notices ----------------------------------------------------------------------------


def test_own_password_change_sends_a_notice_without_the_password(client_as, staff, password):
    verified(staff)
    new = "another long passphrase 2026"
    client_as(staff).post(
        "/accounts/profile/password/",
        {"old_password": password, "new_password1": new, "new_password2": new},
    )
    (message,) = mail.outbox
    assert message.to == [staff.email]
    assert "password" in message.subject.lower() and "changed" in message.subject.lower()
    assert new not in message.body and password not in message.body


def test_notices_go_only_to_verified_addresses(client_as, staff, password):
    new = "another long passphrase 2026"
    client_as(staff).post(
        "/accounts/profile/password/",
        {"old_password": password, "new_password1": new, "new_password2": new},
    )
    assert mail.outbox == []


def test_user_is_told_when_an_administrator_sets_their_password(staff):
    verified(staff)
    assert lifecycle.notify_password_changed_by_admin(staff) is True
    (message,) = mail.outbox
    assert "by an administrator" in message.body


# --- helpers ----------------------------------------------------------------------------


def _request():
    from django.test import RequestFactory

    request = RequestFactory().post("/", REMOTE_ADDR="203.0.113.5")
    request.user = None
    return request


def _signed_in_client(user):
    from django.test import Client

    other = Client()
    other.force_login(user)
    assert other.get("/accounts/profile/").status_code == 200
    return other


# --- The users page's lifecycle panel ---------------------------------------------------


def _panel(target) -> str:
    from django.template.loader import render_to_string

    return render_to_string("accounts/_user_lifecycle.html", {"target": target})


def test_panel_offers_to_re_send_an_invitation_to_an_invited_user(db):
    body = _panel(invited())
    assert "Invited" in body and "Re-send the invitation" in body
    assert "Send a password reset link" not in body


def test_panel_offers_a_reset_link_and_unlock_for_a_locked_out_user(client, staff):
    assert "Unlock sign-in" not in _panel(staff)
    for _ in range(10):
        client.post(LOGIN, {"email": staff.email, "password": "wrong wrong wrong"})
    body = _panel(staff)
    assert "Send a password reset link" in body
    assert "locked out" in body and f"/settings/users/{staff.pk}/unlock/" in body
