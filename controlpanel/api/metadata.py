"""What ``OPTIONS`` answers: the endpoint's name and media types, and where the schema is.

DRF's default would describe the fields from the response serializer, which is not what a
request sends; the OpenAPI schema describes both, so OPTIONS points there."""

from django.urls import reverse
from rest_framework.metadata import SimpleMetadata


class ApiMetadata(SimpleMetadata):
    def determine_metadata(self, request, view):
        return {
            "name": view.get_view_name(),
            "description": view.get_view_description(),
            "renders": [renderer.media_type for renderer in view.renderer_classes],
            "parses": [parser.media_type for parser in view.parser_classes],
            "schema": request.build_absolute_uri(reverse("api:schema")),
        }
