from django.apps import AppConfig


class ApprovalsConfig(AppConfig):
    name = "daozhang.approvals"
    label = "approvals"
    verbose_name = "Approvals 复核"

    def ready(self) -> None:
        from daozhang.approvals import tasks  # noqa: F401 - registers the expiry job
