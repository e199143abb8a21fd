"""No endpoint can be reached without its area and action: every URL pattern of the
project declares one (or public, or self-service)."""

from django.urls import URLPattern, URLResolver, get_resolver

from controlpanel.kit.areas import ACTIONS, is_area
from controlpanel.kit.declarations import AreaAction, AreaByMethod, declaration_of


def walk(patterns, prefix=""):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from walk(pattern.url_patterns, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            yield prefix + str(pattern.pattern), pattern.callback


def test_every_url_pattern_declares_its_access():
    patterns = list(walk(get_resolver().url_patterns))
    assert len(patterns) > 5
    undeclared = [route for route, view in patterns if declaration_of(view) is None]
    assert undeclared == []


def test_every_declared_area_and_action_exists():
    for route, view in walk(get_resolver().url_patterns):
        declaration = declaration_of(view)
        if isinstance(declaration, AreaAction | AreaByMethod):
            assert is_area(declaration.area), route
        if isinstance(declaration, AreaAction):
            assert declaration.action in ACTIONS, route
