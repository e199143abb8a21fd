"""``{% audit_history_url obj %}`` or ``{% audit_history_url "user" 5 %}``: the audit log
filtered to one object's entries. ``partials/history_link.html`` wraps it in a link shown
only to users who may read the audit log."""

from django import template

from controlpanel.audit.log import history_url

register = template.Library()


@register.simple_tag
def audit_history_url(obj_or_type, object_id="") -> str:
    if isinstance(obj_or_type, str):
        return history_url(object_type=obj_or_type, object_id=object_id)
    return history_url(obj_or_type)
