"""Every area of the registry and the API that serves it.

Derived, never listed: an area with an ``AreaDefinition`` (the business areas, resellers)
gets an API generated from it (``records.area_api``); a settings area with no definition
(users, groups, the audit log) names its viewset in its registry entry
(``Area.api_viewset``), and takes writes when the viewset has ``create``. An area with
neither stops the project from starting, so no area is silently left out.
"""

from __future__ import annotations

from functools import cache

from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from controlpanel.areas.registry import all_definitions
from controlpanel.kit.areas import Area, all_areas

from .records import AreaApi, area_api


def _declared_api(area: Area) -> AreaApi:
    viewset = import_string(area.api_viewset)
    return AreaApi(area.key, viewset, read_only=not hasattr(viewset, "create"))


@cache
def area_apis() -> dict[str, AreaApi]:
    """Area key → its API, in the registry's order."""
    definitions = {definition.key: definition for definition in all_definitions()}
    missing = [a.key for a in all_areas() if a.key not in definitions and not a.api_viewset]
    if missing:
        raise ImproperlyConfigured(f"Areas without an API: {', '.join(missing)}.")
    return {
        area.key: area_api(definitions[area.key])
        if area.key in definitions
        else _declared_api(area)
        for area in all_areas()
    }
