"""One e-mail identity per person: an address that looks like another (the dotless i,
Cyrillic o, full-width letters) is refused wherever users are made, cannot be written
even by code that skips validation, never breaks anyone's sign-in, and counts towards the
lockout of the address it imitates (accounts.identity, docs/security.md "Identity")."""

import json

import pytest
from axes.utils import reset as axes_reset
from django.db import IntegrityError, connection, transaction
from django.db.migrations.executor import MigrationExecutor

from accounts.forms import INVALID_LOGIN
from accounts.models import User
from controlpanel.kit.areas import ACTIONS, mask_of
from permissions import transfer
from tests.api.conftest import Api, make_token
from tests.factories import AdminFactory, GroupFactory, UserFactory

pytestmark = pytest.mark.django_db

LOGIN = "/accounts/login/"
WRONG = "not the password at all"
# Each looks like admin@example.com; none is it. The first ones pass Django's e-mail
# validator (its case-insensitive regex lets U+0131 and U+0130 through; domains may be
# Unicode), so
# they reach the sign-in lookup; the others the validator already refuses.
LOOK_ALIKES_THE_VALIDATOR_ACCEPTS = [
    "adm\u0131n@example.com",  # U+0131 LATIN SMALL LETTER DOTLESS I
    "ADMİN@example.com",  # U+0130 LATIN CAPITAL LETTER I WITH DOT ABOVE
    "admin@ex\u0430mple.com",  # U+0430 CYRILLIC SMALL LETTER A, in the domain
    "admin@\u0435\u0445ample.com",  # U+0435, U+0445 CYRILLIC SMALL LETTERS IE and HA
]
ADMIN_LOOK_ALIKES = [
    *LOOK_ALIKES_THE_VALIDATOR_ACCEPTS,
    "adm\u0456n@example.com",  # U+0456 CYRILLIC SMALL LETTER BYELORUSSIAN-UKRAINIAN I
    "\uff41\uff44\uff4d\uff49\uff4e@example.com",  # full-width
]
NORA = "nora@northwind.example"
NORA_LOOK_ALIKES = [
    "nora@northw\u0131nd.example",  # U+0131 LATIN SMALL LETTER DOTLESS I
    "nora@n\u043erthwind.example",  # U+043E CYRILLIC SMALL LETTER O
    "nora@nort\u04bbwind.example",  # U+04BB CYRILLIC SMALL LETTER SHHA
    "nora@north\u051dind.example",  # U+051D CYRILLIC SMALL LETTER WE
    "NORA@NORTHWİND.EXAMPLE",  # U+0130 LATIN CAPITAL LETTER I WITH DOT ABOVE
]


@pytest.fixture(autouse=True)
def _no_lockouts_carried_over(db):
    axes_reset()
    yield
    axes_reset()


@pytest.fixture
def administrator(db):
    return AdminFactory(email="admin@example.com", name="The Administrator")


@pytest.fixture
def reseller_user_manager(db, reseller):
    """A reseller's user who may create users (of their reseller): the attacker."""
    group = GroupFactory(name="Reseller admins", defaults=mask_of(ACTIONS))
    return UserFactory(email="rick@acme.example", reseller=reseller, groups=[group])


def api_as(user) -> Api:
    return Api(make_token(user))


def sign_in(client, email, password, address="198.51.100.200"):
    return client.post(LOGIN, {"email": email, "password": password}, REMOTE_ADDR=address)


def new_user(email: str) -> dict:
    return {
        "email": email,
        "name": "Mallory",
        "password": "a long and unusual passphrase 42",
        "role": "user",
    }


# --- Look-alikes are refused where users are made -------------------------------------


@pytest.mark.parametrize("look_alike", ADMIN_LOOK_ALIKES)
def test_the_api_refuses_a_look_alike_of_the_administrator_naming_the_email_field(
    client, administrator, reseller_user_manager, password, look_alike
):
    response = api_as(reseller_user_manager).post("/api/cp/user", new_user(look_alike))
    assert response.status_code == 400, response.json()
    assert list(response.json()["errors"]) == ["email"]
    assert User.objects.filter(name="Mallory").count() == 0
    # and the administrator's own sign-in is untouched
    assert sign_in(client, "admin@example.com", password).status_code == 302


def test_the_refusal_names_the_character_and_offers_the_ascii_domain(
    administrator, reseller_user_manager
):
    lookalike = api_as(reseller_user_manager).post(
        "/api/cp/user", new_user("adm\u0131n@example.com")
    )
    [message] = lookalike.json()["errors"]["email"]
    assert "“\u0131” (U+0131, LATIN SMALL LETTER DOTLESS I)" in message
    idn = api_as(reseller_user_manager).post(
        "/api/cp/user", new_user("nora@northw\u0131nd.example")
    )
    [message] = idn.json()["errors"]["email"]
    assert "nora@xn--northwnd-ykb.example" in message


def test_the_users_page_refuses_a_look_alike_on_the_email_field(client, administrator):
    client.force_login(administrator)
    response = client.post(
        "/settings/users/new/",
        {
            "email": "adm\u0131n@example.com",
            "name": "Mallory",
            "role": "user",
            "timezone": "UTC",
            "password1": "a long and unusual passphrase 42",
            "password2": "a long and unusual passphrase 42",
        },
    )
    assert response.status_code == 200
    assert "U+0131" in " ".join(response.context["form"].errors["email"])
    assert not User.objects.filter(name="Mallory").exists()


def test_an_address_is_stored_in_its_canonical_form(administrator):
    response = api_as(administrator).post("/api/cp/user", new_user("  Nina.New@Example.COM "))
    assert response.status_code == 201, response.json()
    assert response.json()["email"] == "nina.new@example.com"
    again = api_as(administrator).post("/api/cp/user", new_user("NINA.NEW@example.com"))
    assert again.status_code == 400
    assert list(again.json()["errors"]) == ["email"]


def test_the_import_refuses_a_look_alike_with_its_place_in_the_file(administrator):
    document = {"users": [{"email": "ana@example.com"}, {"email": "adm\u0131n@example.com"}]}
    with pytest.raises(transfer.ImportRefused) as refused:
        transfer.import_access(json.dumps(document))
    [error] = refused.value.errors
    assert error.startswith("users[1].email: ") and "U+0131" in error
    assert not User.objects.filter(email="ana@example.com").exists()


# --- The database holds the line, whatever the code does --------------------------------


@pytest.mark.parametrize("look_alike", [*LOOK_ALIKES_THE_VALIDATOR_ACCEPTS, "Admin2@example.com"])
def test_a_non_canonical_address_cannot_be_written_even_bypassing_validation(
    client, administrator, password, look_alike
):
    mallory = UserFactory(email="mallory@example.com")
    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.filter(pk=mallory.pk).update(email=look_alike)
    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.bulk_create([User(email=look_alike, password="!")])
    assert sign_in(client, "admin@example.com", password).status_code == 302


# --- Sign-in and lockout ---------------------------------------------------------------


@pytest.mark.parametrize("look_alike", LOOK_ALIKES_THE_VALIDATOR_ACCEPTS)
def test_a_look_alike_with_the_right_password_fails_like_a_wrong_password(
    client, administrator, password, look_alike
):
    response = sign_in(client, look_alike, password)
    assert response.status_code == 200
    assert INVALID_LOGIN in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_failures_typed_as_look_alikes_count_against_the_real_account(client, password):
    UserFactory(email=NORA)
    typed = [NORA] * 5 + NORA_LOOK_ALIKES  # ten failures, every one from its own address
    for i, email in enumerate(typed):
        assert sign_in(client, email, WRONG, address=f"198.51.100.{i + 1}").status_code == 200
    response = sign_in(client, NORA, password, address="203.0.113.50")
    assert response.status_code == 200
    assert INVALID_LOGIN in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_unlocking_the_account_clears_the_failures_typed_as_look_alikes(client, manage, password):
    UserFactory(email=NORA)
    for i in range(10):
        sign_in(client, "nora@northw\u0131nd.example", WRONG, address=f"198.51.100.{i + 1}")
    assert sign_in(client, NORA, password, address="203.0.113.50").status_code == 200
    assert manage("unlock", NORA).status == 0
    assert sign_in(client, NORA, password, address="203.0.113.51").status_code == 302


# --- Existing rows: the migration ------------------------------------------------------

BEFORE = [("accounts", "0003_apitoken")]
AFTER = [("accounts", "0004_email_canonical_form")]


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def _insert_users(apps, emails):
    OldUser = apps.get_model("accounts", "User")
    OldUser.objects.bulk_create([OldUser(email=email, password="!") for email in emails])


@pytest.mark.django_db(transaction=True)
def test_the_migration_makes_existing_addresses_canonical():
    try:
        _insert_users(_migrate(BEFORE), ["Bob@Example.COM", "carol@example.com"])
        _migrate(AFTER)
        assert sorted(User.objects.values_list("email", flat=True)) == [
            "bob@example.com",
            "carol@example.com",
        ]
    finally:
        _migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())


@pytest.mark.django_db(transaction=True)
def test_the_migration_stops_and_names_the_rows_when_existing_addresses_collide():
    try:
        old = _migrate(BEFORE)
        # NFKC makes the long s (U+017F) an s: two rows, one identity
        _insert_users(old, ["admin@example.com", "adm\u0131n@example.com", "bo\u017f@x.example"])
        _insert_users(old, ["bos@x.example"])
        with pytest.raises(RuntimeError) as stopped:
            _migrate(AFTER)
        message = str(stopped.value)
        assert "'adm\u0131n@example.com'" in message and "U+0131" in message
        assert "It looks like user" in message and "'admin@example.com'" in message
        assert "'bo\u017f@x.example'" in message and "'bos@x.example'" in message
        assert "then migrate again" in message
        # nothing was changed: the operator decides
        OldUser = old.get_model("accounts", "User")
        assert OldUser.objects.filter(email="bo\u017f@x.example").exists()
        OldUser.objects.filter(email__in=["adm\u0131n@example.com", "bo\u017f@x.example"]).delete()
        _migrate(AFTER)
        assert sorted(User.objects.values_list("email", flat=True)) == [
            "admin@example.com",
            "bos@x.example",
        ]
    finally:
        # back to the current schema first: later migrations add columns the model has
        _migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())
        User.objects.all().delete()
