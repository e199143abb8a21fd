from django.apps import AppConfig


class AreasConfig(AppConfig):
    """The panel's business areas: customers, contacts, carriers, rate cards, routing,
    billing, call records and support tickets."""

    name = "controlpanel.areas"
    label = "areas"
    verbose_name = "Business areas"
