from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "daozhang.core"
    label = "core"

    def ready(self) -> None:
        from django.db.backends.signals import connection_created

        from daozhang.core import (
            checks,  # noqa: F401 - registers the secrets' system checks
            tasks,  # noqa: F401 - registers periodic jobs
        )
        from daozhang.core.db import create_private_sqlite_file, private_sqlite_files
        from daozhang.core.sqlfunctions import register

        connection_created.connect(register, dispatch_uid="daozhang.core.sqlfunctions")
        create_private_sqlite_file()
        connection_created.connect(private_sqlite_files, dispatch_uid="daozhang.core.private_sqlite_files")
