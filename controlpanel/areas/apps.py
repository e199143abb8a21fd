from django.apps import AppConfig


class AreasConfig(AppConfig):
    """The panel's business areas: customers, contacts, carriers, rate cards, routing,
    billing, call records and support tickets."""

    name = "controlpanel.areas"
    label = "areas"
    verbose_name = "Business areas"

    def ready(self):
        # Registering the definitions puts the business areas in the kit's area registry,
        # before any request or command asks it.
        from . import definitions, resellers  # noqa: F401
