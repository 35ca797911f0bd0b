from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "daozhang.audit"
    label = "audit"
    verbose_name = "Audit 审计"

    def ready(self) -> None:
        from daozhang.audit import staff  # noqa: F401 - audits user and group changes (signals)
        from daozhang.core.dbroles import append_only

        # Never updated or deleted (audit 0003): the application role may only add and read.
        append_only("audit_auditevent")
