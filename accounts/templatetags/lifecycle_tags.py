"""``{% is_locked_out user as locked %}``: whether sign-in is paused for this account
(accounts.lockout). One query; for a list of users use ``lockout.locked_out_emails``."""

from django import template

from accounts import lockout

register = template.Library()


@register.simple_tag
def is_locked_out(user) -> bool:
    return lockout.is_locked_out(user)
