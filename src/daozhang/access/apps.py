from django.apps import AppConfig


class AccessConfig(AppConfig):
    name = "daozhang.access"
    label = "access"
    verbose_name = "Access 接入凭证"

    def ready(self) -> None:
        from daozhang.access import tasks  # noqa: F401 - registers periodic jobs
