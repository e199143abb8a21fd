from django.apps import AppConfig


class PermissionsConfig(AppConfig):
    name = "permissions"
    verbose_name = "Permissions"

    def ready(self):
        from . import signals  # noqa: F401
        from .models import guard_memberships

        guard_memberships()
