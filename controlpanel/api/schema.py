"""The OpenAPI schema at ``/api/cp/schema`` (drf-spectacular), for any signed-in user.

It describes the API, not data: which areas, methods, fields and filters exist. The
permissions a request needs are in each operation's description (method → action).
"""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.renderers import OpenApiJsonRenderer, OpenApiYamlRenderer
from drf_spectacular.views import SpectacularAPIView

from controlpanel.kit.declarations import SelfService

from .permissions import DecidedByAccessMiddleware


class PanelAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "controlpanel.api.authentication.PanelAuthentication"
    name = "tokenAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A personal API token, made on Your profile > API tokens "
            "(/accounts/tokens/). It acts with exactly your permissions and IP whitelist.",
        }


class ApiSchemaView(SpectacularAPIView):
    """The schema as JSON (``?format=yaml`` for YAML)."""

    access_declaration = SelfService()
    schema = None  # not an operation of the API it describes
    permission_classes = [DecidedByAccessMiddleware]
    renderer_classes = [OpenApiJsonRenderer, OpenApiYamlRenderer]
