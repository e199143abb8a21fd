"""``{% is_locked_out user as locked %}``: whether sign-in is paused for this account
(accounts.lockout). One query; for a list of users use ``lockout.locked_out_emails``.
``{% has_two_factor user as enabled %}``: whether two-factor sign-in is on."""

from django import template

from accounts import lockout, passkeys, two_factor

register = template.Library()


@register.simple_tag
def is_locked_out(user) -> bool:
    return lockout.is_locked_out(user)


@register.simple_tag
def has_two_factor(user) -> bool:
    """``{% has_two_factor user as enabled %}``: a confirmed authenticator or codes."""
    return two_factor.is_enabled(user)


@register.simple_tag
def passkey_count(user) -> int:
    """``{% passkey_count user as count %}``: how many passkeys the user registered."""
    return passkeys.user_passkeys(user).count()
