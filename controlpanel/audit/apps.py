from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "controlpanel.audit"
    label = "audit"
    verbose_name = "Audit log"
