from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "daozhang.core"
    label = "core"

    def ready(self) -> None:
        from django.db.backends.signals import connection_created

        from daozhang.core import tasks  # noqa: F401 - registers periodic jobs
        from daozhang.core.sqlfunctions import register

        connection_created.connect(register, dispatch_uid="daozhang.core.sqlfunctions")
