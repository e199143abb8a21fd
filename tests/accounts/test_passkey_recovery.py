"""Passkey recovery and configuration: an administrator (or a user manager allowed to
manage the user) removes a user's passkeys from the user's page; ``manage.py passkeys``
lists and removes them; the relying party is checked strictly at start-up."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core import mail
from django.core.exceptions import ImproperlyConfigured

from accounts import passkeys
from accounts.models import Passkey, UserSession
from controlpanel.audit.models import AuditEntry
from controlpanel.kit.relying_party import relying_party
from permissions.models import Rule
from tests.factories import GroupFactory, UserFactory

from .soft_authenticator import SoftAuthenticator

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parent.parent.parent


@pytest.fixture
def staff_keys(staff):
    SoftAuthenticator().register(staff, name="laptop")
    SoftAuthenticator().register(staff, name="phone")
    return staff


def test_the_user_page_shows_the_passkeys_and_an_administrator_removes_them(
    client, admin, staff_keys, password
):
    staff = staff_keys
    other = type(client)()
    other.post("/accounts/login/", {"email": staff.email, "password": password})
    client.force_login(admin)
    page = client.get(f"/settings/users/{staff.pk}/").content.decode()
    assert "Remove passkeys" in page
    answer = client.post(f"/settings/users/{staff.pk}/passkeys/remove/")
    assert answer.status_code == 302
    assert not Passkey.objects.filter(user=staff).exists()
    assert other.get("/accounts/profile/").status_code == 302  # their sessions ended
    assert not UserSession.objects.filter(user=staff).exists()
    entry = AuditEntry.objects.get(action=passkeys.PASSKEY_REMOVED)
    assert entry.message == (
        f"Passkeys “laptop”, “phone” of {staff.email} removed by {admin.email}."
    )
    assert "Remove passkeys" not in client.get(f"/settings/users/{staff.pk}/").content.decode()


def test_nothing_to_remove_says_so(client, admin, staff):
    client.force_login(admin)
    answer = client.post(f"/settings/users/{staff.pk}/passkeys/remove/", follow=True)
    assert f"{staff.email} has no passkeys; nothing was changed." in answer.content.decode()


def test_a_user_manager_may_not_remove_an_administrators_passkeys(client, admin):
    SoftAuthenticator().register(admin)
    group = GroupFactory(name="User managers")
    Rule.objects.create(group=group, area="user", actions=15)
    manager = UserFactory(email="una@example.com", groups=[group])
    client.force_login(manager)
    assert "Remove passkeys" not in client.get(f"/settings/users/{admin.pk}/").content.decode()
    answer = client.post(f"/settings/users/{admin.pk}/passkeys/remove/")
    assert answer.status_code == 403
    assert Passkey.objects.filter(user=admin).exists()


def test_a_user_without_user_update_is_refused(client, outsider, staff_keys):
    client.force_login(outsider)
    assert client.post(f"/settings/users/{staff_keys.pk}/passkeys/remove/").status_code in (
        403,
        404,
    )
    assert Passkey.objects.filter(user=staff_keys).count() == 2


def test_own_passkeys_are_removed_on_the_profile_not_on_the_users_page(client, admin):
    SoftAuthenticator().register(admin)
    client.force_login(admin)
    answer = client.post(f"/settings/users/{admin.pk}/passkeys/remove/", follow=True)
    assert "Remove your own passkeys on your profile" in answer.content.decode()
    assert Passkey.objects.filter(user=admin).exists()


# --- manage.py passkeys -----------------------------------------------------------------


def test_list_shows_names_and_dates(manage, staff_keys):
    result = manage("passkeys", "list", staff_keys.email.upper())
    assert result.status == 0
    lines = result.out.splitlines()
    assert [line.split("\t")[0] for line in lines] == ["laptop", "phone"]
    assert "last used never" in lines[0]


def test_remove_by_name_then_all(manage, staff_keys):
    staff_keys.email_verified_at = staff_keys.created_at
    staff_keys.save()
    result = manage("passkeys", "remove", staff_keys.email, "--name", "phone")
    assert result.status == 0, result.err
    assert "Removed 1 passkey of sam@example.com (phone)" in result.out
    assert list(Passkey.objects.values_list("name", flat=True)) == ["laptop"]
    assert "removed" in mail.outbox[-1].subject
    entry = AuditEntry.objects.get(action=passkeys.PASSKEY_REMOVED)
    assert entry.actor_label == "passkeys" and "by a command" in entry.message
    assert manage("passkeys", "remove", staff_keys.email, "--all").status == 0
    assert not Passkey.objects.exists()


@pytest.mark.parametrize(
    "args, status, message",
    [
        (("list", "nobody@example.com"), 2, "no user with the e-mail address 'nobody@example.com'"),
        (("remove", "sam@example.com"), 2, "say which passkey to remove: --name NAME"),
        (
            ("remove", "sam@example.com", "--name", "tablet"),
            2,
            "sam@example.com has no passkey named 'tablet'; their passkeys: 'laptop', 'phone'",
        ),
    ],
)
def test_command_errors_name_what_is_wrong(manage, staff_keys, args, status, message):
    result = manage("passkeys", *args)
    assert result.status == status
    assert message in result.err
    assert Passkey.objects.filter(user=staff_keys).count() == 2


def test_removing_from_a_user_without_passkeys_exits_1(manage, outsider):
    result = manage("passkeys", "remove", outsider.email, "--all")
    assert result.status == 1
    assert "has no passkeys; nothing was changed" in result.err


# --- The relying party ------------------------------------------------------------------


def test_the_relying_party_is_derived_from_the_panel_url():
    party = relying_party(panel_url="https://panel.example.com/cp")
    assert party.id == "panel.example.com"
    assert party.origins == ("https://panel.example.com",)


def test_an_address_only_panel_offers_no_passkeys_unless_configured():
    assert relying_party(panel_url="http://127.0.0.1:8000") is None


@pytest.mark.parametrize(
    "rp_id, origins, message",
    [
        ("example.org", ["https://panel.example.com"], "is neither the host of the origin"),
        ("", ["panel.example.com"], "is not an origin"),
        ("", ["https://panel.example.com/login"], "is not an origin"),
        ("10.0.0.1", ["https://10.0.0.1"], "an IP address is not allowed"),
        ("example.com", ["https://xexample.com"], "is neither the host"),
    ],
)
def test_a_wrong_relying_party_is_refused_naming_the_setting(rp_id, origins, message):
    with pytest.raises(ImproperlyConfigured, match=message):
        relying_party(panel_url="https://panel.example.com", rp_id=rp_id, origins=origins)


def test_a_parent_domain_may_be_the_id_of_several_origins():
    party = relying_party(
        panel_url="https://panel.example.com",
        rp_id="example.com",
        origins=["https://panel.example.com", "https://panel2.example.com:8443"],
    )
    assert party.origins == ("https://panel.example.com", "https://panel2.example.com:8443")


def _production(**extra) -> subprocess.CompletedProcess:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("WEBAUTHN_", "DATABASE_URL", "CACHE_URL"))
    }
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "controlpanel.settings.production",
            "SECRET_KEY": "x" * 60,
            "ALLOWED_HOSTS": "panel.example.com",
            "PANEL_URL": "https://panel.example.com",
            "DATABASE_URL": "sqlite:////tmp/unused.sqlite3",
            **extra,
        }
    )
    code = (
        "import django; django.setup(); "
        "from django.conf import settings as s; print(s.WEBAUTHN_ENABLED)"
    )
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True
    )


def test_production_accepts_https_and_refuses_a_plain_http_origin():
    assert _production().stdout.strip() == "True"
    refused = _production(WEBAUTHN_ORIGINS="http://panel.example.com")
    assert refused.returncode != 0
    assert "WEBAUTHN_ORIGINS: 'http://panel.example.com' is not https" in refused.stderr


def test_production_over_plain_http_with_nothing_configured_runs_without_passkeys():
    answer = _production(PANEL_URL="http://panel.example.com")
    assert answer.returncode == 0, answer.stderr
    assert answer.stdout.strip() == "False"
