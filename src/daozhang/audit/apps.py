from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "daozhang.audit"
    label = "audit"
    verbose_name = "Audit 审计"
