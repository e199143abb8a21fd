"""Password rules beyond Django's validators (see docs/security.md, "Passwords").

Django already gives the minimum length, the common-password list and the similarity
check; there are no composition rules. What it lacks is an upper bound: hashing a
megabyte-long "password" on every attempt is a cheap denial of service. The bound is
far above any passphrase (at least 64 characters must be allowed) and passwords are
never truncated: a longer one is refused, not cut.
"""

from django.core.exceptions import ValidationError

MAX_PASSWORD_LENGTH = 4096


class MaximumLengthValidator:
    def __init__(self, max_length: int = MAX_PASSWORD_LENGTH):
        self.max_length = max_length

    def validate(self, password, user=None):
        if len(password) > self.max_length:
            raise ValidationError(
                self.message(),
                code="password_too_long",
                params={"max_length": self.max_length},
            )

    def message(self) -> str:
        return f"This password is too long. It must contain at most {self.max_length} characters."

    def get_help_text(self) -> str:
        return (
            f"Your password may be up to {self.max_length} characters long; spaces and any "
            "characters are allowed, so a passphrase works well."
        )
