"""Single sign-on (accounts.sso): which panel user a provider identity is, the ID token
checks the library leaves out, the "SSO only" password refusal, and that nothing shows
when single sign-on is not configured. The full flow against a real provider is in
tests/browser/test_sso.py."""

import time

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.core.exceptions import SuspiciousOperation

from accounts import sso
from accounts.forms import INVALID_LOGIN
from accounts.models import Role, SSOIdentity, User
from controlpanel.audit.models import AuditEntry
from tests.factories import UserFactory

ISSUER = "https://id.example.com"
CLIENT = "panel"


def claims(sub="abc-1", email="ada@example.com", verified=True, **extra):
    return {"iss": ISSUER, "sub": sub, "email": email, "email_verified": verified, **extra}


@pytest.fixture
def sso_on(settings):
    settings.SSO_ENABLED = True
    settings.OIDC_ISSUER = ISSUER
    settings.OIDC_RP_CLIENT_ID = CLIENT
    settings.SSO_PROVIDER_NAME = "Example ID"
    settings.SSO_CREATE_USERS = False
    return settings


# --- Linking ---------------------------------------------------------------------------


def test_verified_email_links_the_existing_user_and_is_audited(db, sso_on):
    ada = UserFactory(email="ada@example.com")
    assert sso.user_for_claims(claims(email="Ada@Example.COM"), address="10.0.0.1") == ada
    identity = SSOIdentity.objects.get()
    assert (identity.issuer, identity.subject, identity.user) == (ISSUER, "abc-1", ada)
    entry = AuditEntry.objects.get(action="sso linked")
    assert entry.object_id == str(ada.pk) and "abc-1" in entry.message


def test_a_linked_identity_stays_with_its_user_when_the_provider_email_changes(db, sso_on):
    ada = UserFactory(email="ada@example.com")
    UserFactory(email="bob@example.com")
    sso.user_for_claims(claims())
    # the provider now reports Bob's address for Ada's subject: still Ada, never Bob
    assert sso.user_for_claims(claims(email="bob@example.com")) == ada
    assert SSOIdentity.objects.get().email == "bob@example.com"


def test_a_second_subject_with_the_same_email_is_refused_not_relinked(db, sso_on):
    ada = UserFactory(email="ada@example.com")
    sso.user_for_claims(claims(sub="abc-1"))
    with pytest.raises(sso.SSORefused, match="already linked"):
        sso.user_for_claims(claims(sub="someone-else"))
    assert list(SSOIdentity.objects.values_list("subject", "user")) == [("abc-1", ada.pk)]


@pytest.mark.parametrize("verified", [False, None, "false", "yes"])
def test_an_unverified_email_links_nobody(db, sso_on, verified):
    UserFactory(email="ada@example.com")
    with pytest.raises(sso.SSORefused, match="verified"):
        sso.user_for_claims(claims(verified=verified))
    assert not SSOIdentity.objects.exists()


def test_a_look_alike_email_links_nobody(db, sso_on):
    UserFactory(email="ada@example.com")
    with pytest.raises(sso.SSORefused, match="canonical"):
        sso.user_for_claims(claims(email="\u0430da@example.com"))  # Cyrillic a


def test_an_unknown_email_is_refused_while_creating_users_is_off(db, sso_on):
    with pytest.raises(sso.SSORefused, match="OIDC_CREATE_USERS"):
        sso.user_for_claims(claims(email="new@example.com"))
    assert not User.objects.exists()


def test_creating_users_makes_a_role_user_with_no_groups_and_no_password(db, sso_on):
    sso_on.SSO_CREATE_USERS = True
    user = sso.user_for_claims(
        claims(email="New@Example.com", name="New Person", role="administrator")
    )
    assert user.email == "new@example.com" and user.name == "New Person"
    assert user.role == Role.USER and not user.access_groups.exists()
    assert user.reseller is None and user.sso_only and user.is_verified
    assert not user.has_usable_password()
    assert SSOIdentity.objects.get().user == user
    assert AuditEntry.objects.filter(action="create", object_id=str(user.pk)).exists()


def test_provider_mfa_counts_only_when_trusted_and_asserted(sso_on):
    assert not sso.provider_asserted_mfa({"amr": ["pwd", "otp"]})
    sso_on.SSO_TRUST_PROVIDER_MFA = True
    assert sso.provider_asserted_mfa({"amr": ["pwd", "otp"]})
    assert sso.provider_asserted_mfa({"amr": ["mfa"]})
    assert not sso.provider_asserted_mfa({"amr": ["pwd"]})
    assert not sso.provider_asserted_mfa({"amr": "mfa"})
    assert not sso.provider_asserted_mfa({})


# --- The ID token checks the library leaves out ----------------------------------------


@pytest.fixture
def signing_key(sso_on):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    sso_on.OIDC_RP_SIGN_ALGO = "RS256"
    sso_on.OIDC_RP_IDP_SIGN_KEY = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    sso_on.OIDC_OP_JWKS_ENDPOINT = "https://id.example.com/jwks"
    return key


def id_token(key, **overrides):
    now = int(time.time())
    payload = {"iss": ISSUER, "aud": CLIENT, "sub": "abc-1", "iat": now, "exp": now + 300}
    payload.update(overrides)
    payload = {name: value for name, value in payload.items() if value is not None}
    return jwt.encode({**payload, "nonce": "n-1"}, key, algorithm="RS256")


def test_a_good_id_token_passes(signing_key):
    payload = sso.SSOBackend().verify_token(id_token(signing_key), nonce="n-1")
    assert payload["sub"] == "abc-1"


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"iss": "https://evil.example.com"}, "issuer"),
        ({"aud": "another-app"}, "audience"),
        ({"aud": ["another-app", CLIENT]}, "azp"),
        ({"exp": None}, "expiry"),
    ],
)
def test_an_id_token_for_another_issuer_or_client_is_refused(signing_key, overrides, reason):
    with pytest.raises(sso.SSORefused, match=reason):
        sso.SSOBackend().verify_token(id_token(signing_key, **overrides), nonce="n-1")


def test_an_id_token_with_another_nonce_is_refused(signing_key):
    with pytest.raises(SuspiciousOperation, match="Nonce"):
        sso.SSOBackend().verify_token(id_token(signing_key), nonce="another")


def test_an_expired_id_token_is_refused(signing_key):
    with pytest.raises(jwt.ExpiredSignatureError):
        sso.SSOBackend().verify_token(id_token(signing_key, exp=int(time.time()) - 60), nonce="n-1")


def test_an_id_token_signed_by_another_key_is_refused(signing_key):
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    with pytest.raises((SuspiciousOperation, jwt.PyJWTError)):
        sso.SSOBackend().verify_token(id_token(other), nonce="n-1")


# --- Pages ------------------------------------------------------------------------------


def test_without_configuration_there_is_no_button_and_no_sso_page(client, db):
    page = client.get("/accounts/login/")
    assert b"/accounts/sso/" not in page.content and b"Sign in with single" not in page.content
    assert client.get("/accounts/sso/start/").status_code == 404
    assert client.get("/accounts/sso/callback/?code=x&state=y").status_code == 404


def test_with_configuration_the_login_page_offers_the_provider(client, db, sso_on):
    sso_on.OIDC_OP_AUTHORIZATION_ENDPOINT = "https://id.example.com/authorize"
    page = client.get("/accounts/login/?next=/customers/")
    assert b"Sign in with Example ID" in page.content
    assert b'href="/accounts/sso/start/?next=%2Fcustomers%2F"' in page.content
    start = client.get("/accounts/sso/start/?next=/customers/")
    assert start.status_code == 302
    target = start["Location"]
    assert target.startswith("https://id.example.com/authorize?")
    for part in ("code_challenge_method=S256", "code_challenge=", "nonce=", "state="):
        assert part in target


def test_a_callback_with_a_state_this_browser_did_not_start_is_refused(client, db, sso_on):
    answer = client.get("/accounts/sso/callback/?code=abc&state=forged", follow=True)
    assert answer.redirect_chain[-1][0] == "/accounts/login/"
    assert b"Single sign-on did not sign you in" in answer.content
    entry = AuditEntry.objects.get(action="login failed")
    assert "state" in entry.message


def test_an_sso_only_user_is_refused_a_password_sign_in_like_any_failure(client, db, password):
    user = UserFactory(email="ada@example.com", sso_only=True)
    answer = client.post("/accounts/login/", {"email": user.email, "password": password})
    assert answer.status_code == 200
    assert INVALID_LOGIN in answer.content.decode()
    assert "_auth_user_id" not in client.session
    entry = AuditEntry.objects.get(action="login failed")
    assert "single sign-on only" in entry.message


# --- "SSO only" on the users page -------------------------------------------------------


def _edit(user, **overrides) -> dict:
    data = {
        "name": user.name,
        "email": user.email,
        "role": user.role,
        "timezone": user.timezone,
        "ip_whitelist": "",
        "updated_at": user.updated_at.isoformat(),
    }
    data.update(overrides)
    return data


def test_the_users_page_offers_sso_only_once_single_sign_on_is_configured(
    client_as, admin, staff, settings
):
    client = client_as(admin)
    assert b"Single sign-on only" not in client.get(f"/settings/users/{staff.pk}/edit/").content
    settings.SSO_ENABLED = True
    assert b"Single sign-on only" in client.get(f"/settings/users/{staff.pk}/edit/").content
    answer = client.post(f"/settings/users/{staff.pk}/edit/", _edit(staff, sso_only="on"))
    assert answer.status_code == 302
    staff.refresh_from_db()
    assert staff.sso_only
    entry = AuditEntry.objects.filter(action="update", object_id=str(staff.pk)).latest("pk")
    assert entry.changes["sso_only"] == {"before": False, "after": True}


def test_a_user_manager_cannot_turn_sso_only_off_for_themselves(client_as, manager, settings):
    settings.SSO_ENABLED = True
    manager.sso_only = True
    manager.save()
    client = client_as(manager)
    page = client.get(f"/settings/users/{manager.pk}/edit/")
    assert page.status_code == 200 and b"Single sign-on only" not in page.content
    client.post(f"/settings/users/{manager.pk}/edit/", _edit(manager, name="M."))
    manager.refresh_from_db()
    assert manager.sso_only


# --- Groups from the provider's claim (permissions.sso_groups) --------------------------


@pytest.fixture
def group_map(settings):
    settings.OIDC_GROUPS_CLAIM = "groups"
    settings.SSO_GROUP_MAP = {"noc": "NOC", "billing": "Billing", "ghost": "Ghost"}
    return settings


def test_mapped_groups_follow_the_claim_and_others_stay(db, group_map):
    from permissions.sso_groups import sso_sync_groups
    from tests.factories import GroupFactory

    noc, billing, own = GroupFactory(name="NOC"), GroupFactory(name="Billing"), GroupFactory()
    user = UserFactory(groups=[billing, own])
    assert sso_sync_groups(user=user, claims={"groups": ["noc", "unmapped", "ghost"]})
    assert set(user.access_groups.all()) == {noc, own}
    entry = AuditEntry.objects.filter(action="sso groups").latest("pk")
    assert "added NOC" in entry.message and "removed Billing" in entry.message
    assert "Ghost" in entry.message  # mapped but missing: never created
    assert not user.access_groups.filter(name="Ghost").exists()
    update = AuditEntry.objects.filter(action="update", object_id=str(user.pk)).latest("pk")
    assert update.changes["groups"] == {"added": ["NOC"], "removed": ["Billing"]}
    assert not sso_sync_groups(user=user, claims={"groups": ["noc"]})  # nothing to change
    user.refresh_from_db()
    assert user.role == Role.USER


def test_the_mapping_never_touches_an_administrator(db, group_map):
    from permissions.sso_groups import sso_sync_groups
    from tests.factories import AdminFactory, GroupFactory

    GroupFactory(name="NOC")
    admin = AdminFactory()
    assert not sso_sync_groups(user=admin, claims={"groups": ["noc"], "role": "user"})
    assert not admin.access_groups.exists()


# --- Settings ---------------------------------------------------------------------------


def test_single_sign_on_is_off_by_default_and_its_backend_absent():
    from tests.test_settings import _settings

    out = _settings("controlpanel.settings.base", {}, "s.SSO_ENABLED, s.AUTHENTICATION_BACKENDS")
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("False") and "SSOBackend" not in out.stdout


def test_a_partial_configuration_stops_start_up_naming_what_is_missing():
    from tests.test_settings import _settings

    out = _settings(
        "controlpanel.settings.base",
        {"OIDC_ISSUER": ISSUER, "OIDC_CLIENT_ID": CLIENT},
        "s.SSO_ENABLED",
    )
    assert out.returncode != 0
    assert "OIDC_TOKEN_ENDPOINT" in out.stderr and "OIDC_CLIENT_SECRET" in out.stderr


def test_a_full_configuration_turns_the_backend_on_with_pkce_and_nonce():
    from tests.test_settings import _settings

    env = {
        "OIDC_ISSUER": ISSUER,
        "OIDC_AUTHORIZATION_ENDPOINT": f"{ISSUER}/authorize",
        "OIDC_TOKEN_ENDPOINT": f"{ISSUER}/token",
        "OIDC_USERINFO_ENDPOINT": f"{ISSUER}/userinfo",
        "OIDC_JWKS_ENDPOINT": f"{ISSUER}/jwks",
        "OIDC_CLIENT_ID": CLIENT,
        "OIDC_CLIENT_SECRET": "s3cret",
        "OIDC_GROUP_MAP": "noc=NOC,finance=Billing",
    }
    out = _settings(
        "controlpanel.settings.base",
        env,
        "s.AUTHENTICATION_BACKENDS[-1], s.OIDC_USE_PKCE, s.OIDC_USE_NONCE, s.SSO_GROUP_MAP",
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == (
        "accounts.sso.SSOBackend True True {'noc': 'NOC', 'finance': 'Billing'}"
    )
    symmetric = _settings("controlpanel.settings.base", {**env, "OIDC_SIGN_ALGO": "HS256"}, "1")
    assert symmetric.returncode != 0 and "asymmetric" in symmetric.stderr


# --- manage.py sso_links ----------------------------------------------------------------


def test_sso_links_lists_and_unlinks_so_the_next_sign_in_links_again(db, sso_on, manage):
    ada = UserFactory(email="ada@example.com")
    sso.user_for_claims(claims(sub="old-subject"))
    listed = manage("sso_links")
    assert listed.status == 0
    assert listed.out.split("\t")[:4] == ["ada@example.com", ISSUER, "old-subject", ada.email]
    # the provider moved Ada to a new subject: refused until the old link goes
    with pytest.raises(sso.SSORefused):
        sso.user_for_claims(claims(sub="new-subject"))
    unlinked = manage("sso_links", "ADA@example.com", unlink=True)
    assert unlinked.status == 0 and "Unlinked 1" in unlinked.out
    assert AuditEntry.objects.filter(action="sso unlinked", object_id=str(ada.pk)).exists()
    assert sso.user_for_claims(claims(sub="new-subject")) == ada
    assert manage("sso_links", "nobody@example.com").status == 2
    assert manage("sso_links", unlink=True).status == 2
    UserFactory(email="bob@example.com")
    assert manage("sso_links", "bob@example.com", unlink=True).status == 1


def test_an_sso_only_user_is_refused_a_passkey_sign_in_too(client, db):
    from tests.accounts.soft_authenticator import SoftAuthenticator
    from tests.accounts.test_passkeys import SIGN_IN, options, post_json

    user = UserFactory(email="ada@example.com")
    key = SoftAuthenticator()
    key.register(user, name="laptop")
    user.sso_only = True
    user.save()
    answer = post_json(client, SIGN_IN, {"credential": key.assertion(options(client))})
    assert answer.status_code == 403
    assert "_auth_user_id" not in client.session
    entry = AuditEntry.objects.get(action="login failed")
    assert "single sign-on only" in entry.message


def test_the_sso_backend_admits_an_sso_only_user(rf, db):
    from accounts import sign_in

    user = UserFactory(email="ada@example.com", sso_only=True)
    request = rf.get("/", REMOTE_ADDR="127.0.0.1")
    assert sign_in.admission_refusal(request, user, backend=sso.BACKEND) == ""
    assert "single sign-on only" in sign_in.admission_refusal(request, user)
