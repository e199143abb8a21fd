"""``/api/cp/<area>`` and ``/api/cp/<area>/<id>`` for every area of the registry, rows
added from a record's page at ``/api/cp/<area>/<id>/<slug>``, and the schema.

No trailing slashes. Names are in the ``api`` namespace (``api:customer-list``), so they
never pass for an area's page in the navigation (which looks for ``customer-list``)."""

from django.urls import path

from .registry import area_apis
from .schema import ApiSchemaView

app_name = "api"

COLLECTION = {"get": "list", "post": "create"}
ITEM = {"get": "retrieve", "put": "update", "patch": "partial_update", "delete": "destroy"}


def _patterns(api):
    collection = {"get": "list"} if api.read_only else COLLECTION
    item = {"get": "retrieve"} if api.read_only else ITEM
    yield path(api.key, api.viewset.as_view(collection), name=f"{api.key}-list")
    yield path(f"{api.key}/<int:pk>", api.viewset.as_view(item), name=f"{api.key}-detail")
    for child in api.children:
        yield path(
            f"{api.key}/<int:pk>/{child.slug}",
            child.viewset.as_view(COLLECTION),
            name=f"{api.key}-{child.slug}",
        )


urlpatterns = [
    path("schema", ApiSchemaView.as_view(), name="schema"),
    *(pattern for api in area_apis().values() for pattern in _patterns(api)),
]
