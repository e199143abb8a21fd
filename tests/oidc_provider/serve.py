"""Start the test provider: ``python -m tests.oidc_provider.serve PORT DB CALLBACK_URL``.

Makes an RS256 key, migrates a fresh SQLite file, registers the panel as a confidential
client (auto-approved: no consent page) whose one redirect URI is ``CALLBACK_URL``, adds
the provider's users (``USERS``) and serves on 127.0.0.1:PORT until killed."""

import os
import sys

CLIENT_ID = "panel"
CLIENT_SECRET = "panel-secret-for-tests-only"
PASSWORD = "provider-password-1"
# e-mail, name, test mode (tests.oidc_provider.validator)
USERS = [
    ("ada@example.com", "Ada Lovelace", ""),
    ("newcomer@example.com", "New Comer", ""),
    ("unverified@example.com", "Un Verified", "unverified"),
    ("nonce@example.com", "Nonce Tamper", "wrong-nonce"),
    ("chief@example.com", "Chief Admin", ""),
    ("boss@example.com", "Boss Admin", "mfa"),
]

# provider group -> its members
GROUPS = {"noc": ["ada@example.com"], "billing": ["ada@example.com", "newcomer@example.com"]}


def _rsa_key() -> str:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def main(port: str, database: str, callback: str) -> None:
    os.environ.update(
        DJANGO_SETTINGS_MODULE="tests.oidc_provider.settings",
        PROVIDER_PORT=port,
        PROVIDER_DB=database,
        PROVIDER_RSA_KEY=_rsa_key(),
    )
    import django

    django.setup()
    from django.contrib.auth.models import Group, User
    from django.core.management import call_command
    from oauth2_provider.models import Application

    call_command("migrate", verbosity=0)
    for email, name, mode in USERS:
        User.objects.create_user(
            username=email, email=email, password=PASSWORD, first_name=name, last_name=mode
        )
    for name, members in GROUPS.items():
        Group.objects.create(name=name).user_set.set(User.objects.filter(email__in=members))
    Application.objects.create(
        name="Control panel",
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
        redirect_uris=callback,
        algorithm=Application.RS256_ALGORITHM,
        skip_authorization=True,
    )
    call_command(
        "runserver",
        f"127.0.0.1:{port}",
        use_reloader=False,
        use_threading=True,
        skip_checks=True,
    )


if __name__ == "__main__":
    main(*sys.argv[1:4])
