"""``{% passkeys_available as ok %}``: whether this panel offers passkeys (a relying
party could be derived from the settings; accounts.passkeys)."""

from django import template

from accounts import passkeys

register = template.Library()


@register.simple_tag
def passkeys_available() -> bool:
    return passkeys.available()
