"""Failed sign-ins are throttled per account and per client address (django-axes with
the project's own client address); a lockout looks like any failed sign-in."""

import re
from io import StringIO

import pytest
from axes.models import AccessAttempt
from axes.utils import reset as axes_reset
from django.core.management import call_command
from django.utils import timezone

from accounts.forms import INVALID_LOGIN
from controlpanel.audit.models import AuditEntry
from controlpanel.kit.areas import mask_of
from permissions.models import Rule

pytestmark = pytest.mark.django_db

LOGIN = "/accounts/login/"
WRONG = "not the password at all"


@pytest.fixture(autouse=True)
def _no_lockouts_carried_over(db):
    axes_reset()
    yield
    axes_reset()


def fail(client, email, times, **extra):
    for _ in range(times):
        response = client.post(LOGIN, {"email": email, "password": WRONG}, **extra)
        assert response.status_code == 200


def sign_in(client, email, password, **extra):
    return client.post(LOGIN, {"email": email, "password": password}, **extra)


def normalised(response, email: str) -> str:
    body = response.content.decode().replace(email, "EMAIL")
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "CSRF", body)


def test_nine_failures_do_not_lock_the_account(client, staff, password):
    fail(client, staff.email, 9)
    assert sign_in(client, staff.email, password).status_code == 302


def test_ten_failures_lock_the_account_even_with_the_right_password(client, staff, password):
    fail(client, staff.email, 10)
    response = sign_in(client, staff.email, password, REMOTE_ADDR="198.51.100.7")
    assert response.status_code == 200
    assert INVALID_LOGIN in response.content.decode()
    assert "_auth_user_id" not in client.session
    assert AuditEntry.objects.filter(action="login failed", message__contains="locked out").exists()


def test_locked_out_sign_in_looks_like_a_wrong_password(client, staff, password):
    fail(client, staff.email, 10)
    locked = sign_in(client, staff.email, password, REMOTE_ADDR="198.51.100.7")
    wrong = sign_in(client, "someone@example.com", WRONG, REMOTE_ADDR="198.51.100.8")
    assert locked.status_code == wrong.status_code == 200
    assert normalised(locked, staff.email) == normalised(wrong, "someone@example.com")


def test_lockout_of_a_real_and_an_unknown_account_answer_alike(client, staff):
    fail(client, staff.email, 10, REMOTE_ADDR="198.51.100.1")
    fail(client, "ghost@example.com", 10, REMOTE_ADDR="198.51.100.2")
    real = sign_in(client, staff.email, WRONG, REMOTE_ADDR="198.51.100.3")
    ghost = sign_in(client, "ghost@example.com", WRONG, REMOTE_ADDR="198.51.100.4")
    assert real.status_code == ghost.status_code == 200
    assert normalised(real, staff.email) == normalised(ghost, "ghost@example.com")


def test_the_account_count_ignores_case(client, staff, password):
    for i in range(10):
        variant = staff.email.upper() if i % 2 else staff.email.title()
        fail(client, variant, 1, REMOTE_ADDR=f"198.51.100.{i + 1}")
    response = sign_in(client, staff.email, password, REMOTE_ADDR="203.0.113.50")
    assert response.status_code == 200


def test_an_address_is_locked_after_failures_against_many_accounts(client, staff, password):
    for i in range(10):
        fail(client, f"guess{i}@example.com", 1, REMOTE_ADDR="198.51.100.9")
    blocked = sign_in(client, staff.email, password, REMOTE_ADDR="198.51.100.9")
    assert blocked.status_code == 200
    elsewhere = sign_in(client, staff.email, password, REMOTE_ADDR="203.0.113.9")
    assert elsewhere.status_code == 302


def test_forwarded_headers_cannot_reset_the_address_count(client, staff, password):
    for i in range(10):
        fail(
            client,
            f"guess{i}@example.com",
            1,
            REMOTE_ADDR="198.51.100.9",
            HTTP_X_FORWARDED_FOR=f"10.0.{i}.1",
            HTTP_CLIENT_IP=f"10.1.{i}.1",
            HTTP_X_REAL_IP=f"10.2.{i}.1",
        )
    response = sign_in(
        client,
        staff.email,
        password,
        REMOTE_ADDR="198.51.100.9",
        HTTP_X_FORWARDED_FOR="203.0.113.77",
    )
    assert response.status_code == 200
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {"198.51.100.9"}


def test_empty_or_malformed_usernames_lock_no_one_out(client, staff, password):
    for username in ["", " ", "not-an-email", "@", "a" * 300 + "@example.com"] * 5:
        client.post(LOGIN, {"email": username, "password": WRONG})
    client.post(LOGIN, {"email": staff.email, "password": ""})
    assert AccessAttempt.objects.count() == 0
    assert sign_in(client, staff.email, password).status_code == 302


def test_lockout_ends_after_the_cool_off(client, staff, password, settings):
    fail(client, staff.email, 10)
    AccessAttempt.objects.update(
        attempt_time=timezone.now() - settings.AXES_COOLOFF_TIME - timezone.timedelta(seconds=1)
    )
    assert sign_in(client, staff.email, password).status_code == 302


def test_administrator_unlocks_an_account_from_the_users_page(client_as, client, admin, staff):
    from django.test import Client

    fail(client, staff.email, 10, REMOTE_ADDR="198.51.100.1")
    response = client_as(admin).post(f"/settings/users/{staff.pk}/unlock/")
    assert response.status_code == 302
    assert AuditEntry.objects.filter(action="unlock", actor=admin).exists()
    fresh = Client()
    assert sign_in(fresh, staff.email, "correct horse battery staple").status_code == 302


def test_unlock_needs_update_on_users(client_as, outsider, staff):
    assert client_as(outsider).post(f"/settings/users/{staff.pk}/unlock/").status_code == 403


def test_non_administrator_cannot_unlock_an_administrator(client_as, staff, admin):
    Rule.objects.create(user=staff, area="user", actions=mask_of(["read", "update"]))
    fail(client_as(staff), admin.email, 10, REMOTE_ADDR="198.51.100.1")
    response = client_as(staff).post(f"/settings/users/{admin.pk}/unlock/")
    assert response.status_code == 403
    assert AccessAttempt.objects.filter(username=admin.email).exists()


def test_unlock_command_clears_the_account(client, staff, password):
    fail(client, staff.email, 10, REMOTE_ADDR="198.51.100.1")
    out = StringIO()
    call_command("unlock", staff.email.upper(), stdout=out)
    assert "Unlocked" in out.getvalue()
    assert sign_in(client, staff.email, password, REMOTE_ADDR="203.0.113.1").status_code == 302


def test_unlock_command_clears_an_address_too(client, staff, password):
    fail(client, "guess@example.com", 10, REMOTE_ADDR="198.51.100.1")
    call_command("unlock", "guess@example.com", "--ip", "198.51.100.1", stdout=StringIO())
    assert sign_in(client, staff.email, password, REMOTE_ADDR="198.51.100.1").status_code == 302


def test_unlock_command_refuses_a_malformed_address_with_status_2(db):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError) as error:
        call_command("unlock", "not an e-mail", stdout=StringIO())
    assert error.value.returncode == 2
    with pytest.raises(CommandError) as error:
        call_command("unlock", "a@example.com", "--ip", "300.1.1.1", stdout=StringIO())
    assert error.value.returncode == 2
    assert "not an IP address" in str(error.value)


def test_lockout_helpers_report_locked_accounts(client, staff, admin):
    from accounts import lockout

    fail(client, staff.email, 10, REMOTE_ADDR="198.51.100.1")
    assert lockout.is_locked_out(staff)
    assert not lockout.is_locked_out(admin)
    assert lockout.locked_out_emails([staff.email, admin.email]) == {staff.email}


def test_failure_limit_below_ten_is_refused_at_start_up(settings):
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-c", "import controlpanel.settings.base"],
        env={"LOGIN_FAILURE_LIMIT": "3", "SECRET_KEY": "x" * 50, "PATH": "/usr/bin:/bin"},
        cwd=str(settings.BASE_DIR),
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0
    assert "LOGIN_FAILURE_LIMIT must be at least 10" in result.stderr


def test_hammering_a_locked_account_does_not_lengthen_the_lockout(client, staff):
    from django.db.models import Sum

    fail(client, staff.email, 10)
    fail(client, staff.email, 5, REMOTE_ADDR="198.51.100.50")
    total = AccessAttempt.objects.filter(username=staff.email).aggregate(
        n=Sum("failures_since_start")
    )
    assert total["n"] == 10
