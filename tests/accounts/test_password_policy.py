"""The password policy (docs/security.md): at least 12 characters, long passphrases up
to 4096, any Unicode and spaces, common passwords refused, no composition rules, never
truncated."""

import pytest
from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError

from accounts.models import User

pytestmark = pytest.mark.django_db

CHANGE = "/accounts/profile/password/"


def problems(password: str, user=None) -> list[str]:
    try:
        password_validation.validate_password(password, user or User(email="pat@example.com"))
    except ValidationError as error:
        return error.messages
    return []


@pytest.mark.parametrize(
    "password",
    [
        "twelve chars",  # exactly 12, spaces count
        "alllowercaseletterswithoutdigits",  # no composition rules
        "correct horse battery staple " * 2,
        "x" * 64,
        "phrase " * 585,  # 4095 characters
        "пароль из нескольких слов",
        "密码是一句很长的话而且不短",
        "🔐 emoji are fine too 🔑",
        "  leading and trailing spaces  ",
    ],
)
def test_these_passwords_are_accepted(password):
    assert problems(password) == []


def test_eleven_characters_are_too_few():
    assert any("too short" in message for message in problems("eleven char"))


def test_common_passwords_are_refused():
    assert any("too common" in message for message in problems("password1234"))


def test_more_than_4096_characters_are_refused_not_truncated():
    assert problems("a" * 4096 + "b") == [
        "This password is too long. It must contain at most 4096 characters."
    ]
    assert problems("ab" * 2048) == []


def test_the_minimum_length_is_configurable(settings):
    settings.AUTH_PASSWORD_VALIDATORS = [
        {
            "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
            "OPTIONS": {"min_length": 16},
        }
    ]
    assert problems("fifteen chars!!")
    assert problems("sixteen chars!!!") == []


def test_long_passwords_are_not_truncated(client_as, outsider, password):
    long_one = "this passphrase is long " * 10 + "END"
    client = client_as(outsider)
    response = client.post(
        CHANGE,
        {"old_password": password, "new_password1": long_one, "new_password2": long_one},
    )
    assert response.status_code == 302
    outsider.refresh_from_db()
    assert outsider.check_password(long_one)
    assert not outsider.check_password(long_one[:-1] + "X")
    assert not outsider.check_password(long_one[:72])


def test_unicode_passphrase_with_spaces_signs_in(client, outsider):
    phrase = "ключ 密码 🔑 with spaces"
    outsider.set_password(phrase)
    outsider.save()
    response = client.post("/accounts/login/", {"email": outsider.email, "password": phrase})
    assert response.status_code == 302


def test_requirements_are_shown_from_the_validators(client_as, outsider):
    page = client_as(outsider).get(CHANGE).content.decode()
    assert "at least 12 characters" in page
    assert "up to 4096 characters" in page


def test_login_refuses_an_oversized_password_without_hashing_it(client, outsider):
    with pytest.MonkeyPatch.context() as patch:
        calls = []
        patch.setattr(
            "django.contrib.auth.hashers.MD5PasswordHasher.verify",
            lambda self, password, encoded: calls.append(1) or False,
        )
        response = client.post(
            "/accounts/login/", {"email": outsider.email, "password": "x" * 100_000}
        )
    assert response.status_code == 200
    assert calls == []
