"""The users page drives the account lifecycle: a user created without a password is
invited, one created with a password verifies their address, an e-mail change asks for
verification again, and a password set by an administrator is told to the user."""

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone

from accounts.models import User
from tests.accounts.test_lifecycle import NEW_PASSWORD, link_in, open_link
from tests.accounts.test_user_admin import edit_data, new_user_data

pytestmark = pytest.mark.django_db


def test_user_created_without_a_password_is_invited_and_can_then_sign_in(client_as, admin):
    response = client_as(admin).post(
        "/settings/users/new/", new_user_data(password1="", password2="")
    )
    assert response.status_code == 302
    user = User.objects.get(email="nina@example.com")
    assert user.status == "invited" and not user.has_usable_password()
    (invite,) = mail.outbox
    assert invite.to == ["nina@example.com"]

    invitee = Client()
    _, page = open_link(invitee, link_in(invite))
    done = invitee.post(
        page.wsgi_request.path, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    )
    assert done.status_code == 302
    signed_in = invitee.post(
        "/accounts/login/", {"email": "nina@example.com", "password": NEW_PASSWORD}
    )
    assert signed_in.status_code == 302
    user.refresh_from_db()
    assert user.status == "active" and user.is_verified


def test_one_password_field_without_the_other_is_refused(client_as, admin):
    page = client_as(admin).post(
        "/settings/users/new/", new_user_data(password1=NEW_PASSWORD, password2="")
    )
    assert page.status_code == 200
    assert "two passwords differ" in page.content.decode()
    assert not User.objects.filter(email="nina@example.com").exists()


def test_user_created_with_a_password_gets_a_verification_link(client_as, admin):
    client_as(admin).post("/settings/users/new/", new_user_data())
    user = User.objects.get(email="nina@example.com")
    assert not user.is_verified
    (message,) = mail.outbox
    assert message.to == ["nina@example.com"]
    open_link(Client(), link_in(message))
    user.refresh_from_db()
    assert user.is_verified


def test_changing_a_users_email_asks_the_new_address_to_verify(client_as, admin, staff):
    staff.email_verified_at = timezone.now()
    staff.save()
    response = client_as(admin).post(
        f"/settings/users/{staff.pk}/edit/", edit_data(staff, email="sam.new@example.com")
    )
    assert response.status_code == 302
    staff.refresh_from_db()
    assert staff.email == "sam.new@example.com" and not staff.is_verified
    assert [m.to for m in mail.outbox] == [["sam.new@example.com"]]


def test_a_password_set_by_an_administrator_is_told_to_the_user(client_as, admin, staff):
    staff.email_verified_at = timezone.now()
    staff.save()
    response = client_as(admin).post(
        f"/settings/users/{staff.pk}/password/",
        {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert response.status_code == 302
    (message,) = mail.outbox
    assert message.to == [staff.email]
    assert NEW_PASSWORD not in message.body


def test_users_list_shows_invited_unverified_and_locked_users(client_as, admin, staff, settings):
    from accounts.lockout import locked_out_emails

    User.objects.create_user("ivy@example.com", None, name="Ivy Invited", role="user")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        Client().post("/accounts/login/", {"email": staff.email, "password": "wrong guess!!"})
    assert locked_out_emails([staff.email]) == {staff.email}
    body = client_as(admin).get("/settings/users/").content.decode()
    assert "✉ invited" in body
    assert "unverified" in body
    assert ">locked</span>" in body


def test_user_and_group_pages_link_to_their_history(client_as, admin, staff, staff_group):
    client = client_as(admin)
    user_page = client.get(f"/settings/users/{staff.pk}/").content.decode()
    assert f"/settings/audit/?object_type=user&amp;object_id={staff.pk}" in user_page
    group_page = client.get(f"/settings/groups/{staff_group.pk}/").content.decode()
    assert f"/settings/audit/?object_type=group&amp;object_id={staff_group.pk}" in group_page
