"""Area definitions: what the shared generic views need to know about one area.

One ``AreaDefinition`` per area names its model, form, list columns, search fields,
detail fields and related sections; the generic views in ``views.py`` serve every area
from it, and ``area_urlpatterns`` turns it into URL patterns, each declared with
``@requires(area, action)``.

``register(definition)`` is the one edit that adds an area: the definition carries its
``Area`` (key, label, description, reseller scope) and registering it puts that entry in
the kit's area registry (``controlpanel.kit.areas``), which the resolver, the group editor,
``list_areas``, the navigation and the API read. The URL patterns (``urls.py``,
``reseller_urls.py``) and the API (``controlpanel.api.registry``) are derived from the
registered definitions. The areas app registers its definitions when it is ready
(``apps.py``), before any request or command runs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from django.db.models import Model, QuerySet

from controlpanel.kit import areas as kit_areas
from controlpanel.kit.areas import Area
from resellers.selectors import scoped

from . import services


@dataclass(frozen=True)
class Column:
    """One value shown for a row: ``attr`` is a dotted attribute path (``customer.name``).

    ``sort`` is the ORM ordering key that sorting by this column uses ("" = not
    sortable); ``link_area`` makes a value that is a row of that area link to its page.
    ``link`` makes the value link to the row itself."""

    label: str
    attr: str
    sort: str = ""
    link_area: str = ""
    link: bool = False


@dataclass(frozen=True)
class ChildForm:
    """Rows added from the parent's detail page (payments on an invoice, ticket replies).

    The form posts to ``<prefix>/<pk>/<slug>/new/``, named ``<area>-<name>-create`` and
    declared with ``action`` on the parent's area. ``create`` is the service, called with
    the parent as ``parent_arg`` plus ``actor``, ``address`` and ``values``."""

    slug: str
    name: str
    label: str
    form_class: type
    action: str
    create: Callable[..., Model]
    parent_arg: str


@dataclass(frozen=True)
class Related:
    """A section of rows related to the one shown, read from ``area`` (and scoped)."""

    area: str
    title: str
    rows: Callable[[Model], QuerySet]
    columns: tuple[Column, ...]
    limit: int | None = 10
    child: ChildForm | None = None


@dataclass(frozen=True)
class AreaDefinition:
    # The area's entry in the access vocabulary: a new ``Area`` for a business area, or
    # ``get_area(key)`` for a settings area the kit declares (resellers).
    area: Area
    model: type[Model]
    url_prefix: str
    columns: tuple[Column, ...]
    detail_fields: tuple[Column, ...]
    search_fields: tuple[str, ...] = ()
    default_sort: str = "pk"
    form_class: type | None = None  # None: read-only in the panel
    select_related: tuple[str, ...] = ()
    related: tuple[Related, ...] = ()
    filter_form: type | None = None
    latest: str = "-created_at"
    per_page: int = 25
    # Values the panel sets on create, never the user (e.g. who raised a ticket).
    create_values: Callable[[Model], dict] | None = None
    # Area-specific services, where the generic ones do not fit.
    delete_service: Callable[..., None] | None = None
    list_template: str = "areas/list.html"
    detail_template: str = "areas/detail.html"
    help: str = ""
    children: tuple[ChildForm, ...] = field(init=False, default=())

    def __post_init__(self):
        object.__setattr__(
            self, "children", tuple(r.child for r in self.related if r.child is not None)
        )

    @property
    def key(self) -> str:
        return self.area.key

    @property
    def label(self) -> str:
        return self.area.label

    @property
    def verbose_name(self) -> str:
        return str(self.model._meta.verbose_name)

    @property
    def verbose_name_plural(self) -> str:
        return str(self.model._meta.verbose_name_plural)

    @property
    def read_only(self) -> bool:
        return self.form_class is None

    @property
    def editable_fields(self) -> tuple[str, ...]:
        return tuple(self.form_class._meta.fields) if self.form_class else ()

    def rows(self, user) -> QuerySet:
        """Every row ``user`` may see in this area, ready for display."""
        return scoped(self.model, user).select_related(*self.select_related)

    # The writes. Views call these; they pick the area's own service where it has one.
    def create(self, *, actor, address, values) -> Model:
        return services.area_record_create(
            definition=self, actor=actor, address=address, values=values
        )

    def update(self, *, actor, address, instance, values) -> Model:
        return services.area_record_update(
            definition=self, actor=actor, address=address, instance=instance, values=values
        )

    def delete(self, *, actor, address, instance) -> None:
        if self.delete_service is not None:
            self.delete_service(actor=actor, address=address, instance=instance)
        else:
            services.area_record_delete(
                definition=self, actor=actor, address=address, instance=instance
            )


_DEFINITIONS: dict[str, AreaDefinition] = {}


def register(definition: AreaDefinition) -> AreaDefinition:
    """Add an area: its definition here, and its ``Area`` to the kit's registry unless the
    kit declares it already (a settings area)."""
    key = definition.key
    if key in _DEFINITIONS:
        raise ValueError(f"Area {key!r} has two definitions.")
    if not kit_areas.is_area(key):
        kit_areas.register(definition.area)
    elif kit_areas.get_area(key) != definition.area:
        raise ValueError(f"Area {key!r} is declared twice, differently.")
    _DEFINITIONS[key] = definition
    return definition


def unregister(key: str) -> None:
    """Take a definition out again, with the ``Area`` it registered (a test's throwaway
    area)."""
    definition = _DEFINITIONS.pop(key)
    if not definition.area.settings_area:
        kit_areas.unregister(key)


def all_definitions() -> tuple[AreaDefinition, ...]:
    """Every area served by the generic views, in the registry's order."""
    return tuple(_DEFINITIONS[a.key] for a in kit_areas.all_areas() if a.key in _DEFINITIONS)


def business_definitions() -> tuple[AreaDefinition, ...]:
    """The business areas, served at the root (``/customers/``)."""
    return tuple(d for d in all_definitions() if not d.area.settings_area)


def settings_definitions() -> tuple[AreaDefinition, ...]:
    """The settings areas served by the generic views, under ``/settings/`` (resellers)."""
    return tuple(d for d in all_definitions() if d.area.settings_area)
