from django.apps import AppConfig


class OutboxConfig(AppConfig):
    name = "controlpanel.outbox"
    label = "outbox"
    verbose_name = "E-mail outbox"
