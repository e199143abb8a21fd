"""Area definitions: what the shared generic views need to know about one area.

One ``AreaDefinition`` per area names its model, form, list columns, search fields,
detail fields and related sections; the generic views in ``views.py`` serve every area
from it, and ``area_urlpatterns`` turns it into URL patterns, each declared with
``@requires(area, action)``. The access side of an area (key, label, API path) stays in
``controlpanel.kit.areas``; a definition refers to it by key.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from django.db.models import Model, QuerySet

from controlpanel.kit.areas import Area, get_area
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
    key: str
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
    def area(self) -> Area:
        return get_area(self.key)

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
