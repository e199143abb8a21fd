from django import template

from ..resolver import effective_permissions

register = template.Library()


@register.simple_tag(takes_context=True)
def can(context, area: str, action: str) -> bool:
    """``{% can "support-ticket" "create" as may_create %}``: asks the one resolver."""
    request = context.get("request")
    if request is None or not request.user.is_authenticated:
        return False
    access = getattr(request, "access", None) or effective_permissions(request.user)
    return access.can(area, action)
