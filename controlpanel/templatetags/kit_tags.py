"""Template tags of the shared kit.

``row_url``: a row's page, ``{{ group.pk|row_url:'group-detail' }}``, the same address as
``{% url 'group-detail' group.pk %}`` at a fraction of the cost in a loop (see
``controlpanel.kit.urls``); ``{% row_url 'group-rule-update' rule.group_id rule.pk %}``
for a pattern of several ids."""

from django import template

from controlpanel.kit.urls import row_url as _row_url

register = template.Library()


@register.filter(name="row_url")
def row_url_filter(pk, name: str) -> str:
    return _row_url(name)(pk)


@register.simple_tag(name="row_url")
def row_url_tag(name: str, *ids) -> str:
    return _row_url(name, len(ids))(*ids)
