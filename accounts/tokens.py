"""Signed, expiring, single-use links: password reset, invitation, e-mail verification.

Each is Django's ``PasswordResetTokenGenerator`` (an HMAC over the user's state and a
timestamp, keyed by SECRET_KEY with its fallbacks) with its own salt, its own lifetime
setting and the state that must change once the link has been used:

- reset: the password hash and the last login (Django's own choice), so a reset link
  dies when the password changes, by whichever way;
- invitation: the same, so accepting (setting a password) or re-sending (a fresh
  unusable password) kills every earlier invitation link;
- verification: the address and when it was verified, so the link dies once used and
  when the address changes.

``state`` tells an expired link (authentic but too old: the page says so and offers a
new one) from an invalid one (tampered, used, or for another user), which all look alike.
"""

from __future__ import annotations

import enum

from django.conf import settings
from django.contrib.auth.tokens import PasswordResetTokenGenerator
from django.utils.crypto import constant_time_compare
from django.utils.encoding import force_bytes
from django.utils.http import base36_to_int, urlsafe_base64_encode


class LinkState(enum.Enum):
    VALID = "valid"
    EXPIRED = "expired"
    INVALID = "invalid"


class LinkTokenGenerator(PasswordResetTokenGenerator):
    timeout_setting = "PASSWORD_RESET_TIMEOUT"

    @property
    def timeout(self) -> int:
        return int(getattr(settings, self.timeout_setting))

    def state(self, user, token) -> LinkState:
        if user is None or not token or not isinstance(token, str):
            return LinkState.INVALID
        try:
            ts_b36, _ = token.split("-")
            timestamp = base36_to_int(ts_b36)
        except ValueError:
            return LinkState.INVALID
        for secret in [self.secret, *self.secret_fallbacks]:
            if constant_time_compare(
                self._make_token_with_timestamp(user, timestamp, secret), token
            ):
                break
        else:
            return LinkState.INVALID
        if self._num_seconds(self._now()) - timestamp > self.timeout:
            return LinkState.EXPIRED
        return LinkState.VALID

    def check_token(self, user, token) -> bool:
        return self.state(user, token) is LinkState.VALID


class PasswordResetTokens(LinkTokenGenerator):
    key_salt = "accounts.tokens.PasswordResetTokens"
    timeout_setting = "PASSWORD_RESET_TIMEOUT"


class InviteTokens(LinkTokenGenerator):
    key_salt = "accounts.tokens.InviteTokens"
    timeout_setting = "INVITE_TIMEOUT"

    def _make_hash_value(self, user, timestamp):
        return f"{super()._make_hash_value(user, timestamp)}{user.is_active}"


class VerificationTokens(LinkTokenGenerator):
    key_salt = "accounts.tokens.VerificationTokens"
    timeout_setting = "EMAIL_VERIFICATION_TIMEOUT"

    def _make_hash_value(self, user, timestamp):
        verified = (
            ""
            if user.email_verified_at is None
            else user.email_verified_at.replace(microsecond=0, tzinfo=None)
        )
        return f"{user.pk}{user.email}{verified}{timestamp}"


password_reset_tokens = PasswordResetTokens()
invite_tokens = InviteTokens()
verification_tokens = VerificationTokens()


def uid_of(user) -> str:
    return urlsafe_base64_encode(force_bytes(user.pk))
