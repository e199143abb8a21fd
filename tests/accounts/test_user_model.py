import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command

from accounts.models import Role, User

pytestmark = pytest.mark.django_db


def test_user_created_without_a_role_is_an_administrator():
    user = User.objects.create_user("New@Example.com", "x" * 20)
    assert user.role == Role.ADMINISTRATOR
    assert user.email == "new@example.com"


def test_email_is_unique_whatever_its_case():
    User.objects.create_user("a@example.com", "x" * 20)
    with pytest.raises(ValidationError, match="already exists"):
        User.objects.create_user("A@EXAMPLE.COM", "x" * 20)


def test_argon2_is_the_first_hasher(settings):
    from controlpanel.settings import base

    assert base.PASSWORD_HASHERS[0].endswith("Argon2PasswordHasher")


def test_role_change_ends_the_users_sessions(client, django_user_model):
    user = User.objects.create_user("u@example.com", "x" * 20, role=Role.USER)
    client.force_login(user)
    assert client.get("/accounts/profile/").status_code == 200
    user.role = Role.ADMINISTRATOR
    user.end_sessions()
    user.save()
    assert client.get("/accounts/profile/").status_code == 302


def test_seed_demo_is_idempotent(capsys):
    call_command("seed_demo")
    first = (User.objects.count(), sorted(User.objects.values_list("email", flat=True)))
    call_command("seed_demo")
    second = (User.objects.count(), sorted(User.objects.values_list("email", flat=True)))
    assert first == second
    out = capsys.readouterr().out
    assert "Demo administrator: admin@example.com / " in out
    admin = User.objects.get(email="admin@example.com")
    assert admin.role == Role.ADMINISTRATOR


def test_seeded_admin_login_works(client):
    from controlpanel.areas.management.commands.seed_demo import DEMO_PASSWORD

    call_command("seed_demo")
    response = client.post(
        "/accounts/login/", {"email": "admin@example.com", "password": DEMO_PASSWORD}
    )
    assert response.status_code == 302
