from django import template

from ..resolver import access_of

register = template.Library()


@register.simple_tag(takes_context=True)
def can(context, area: str, action: str) -> bool:
    """``{% can "support-ticket" "create" as may_create %}``: asks the one resolver."""
    request = context.get("request")
    if request is None or not request.user.is_authenticated:
        return False
    access = access_of(request)
    return access.can(area, action)
