"""``{% sso_sign_in next %}``: the "Sign in with <provider>" link on the login page,
shown only when single sign-on is configured (accounts.sso)."""

from urllib.parse import urlencode

from django import template
from django.urls import reverse

from accounts import sso

register = template.Library()


@register.inclusion_tag("accounts/sso_sign_in.html")
def sso_sign_in(next_url: str = "") -> dict:
    if not sso.is_enabled():
        return {"enabled": False}
    url = reverse("accounts:sso_start")
    if next_url and next_url != "/":
        url += "?" + urlencode({"next": next_url})
    return {"enabled": True, "url": url, "provider": sso.provider_name()}
