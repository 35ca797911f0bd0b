from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "daozhang.core"
    label = "core"

    def ready(self) -> None:
        from django.db.backends.signals import connection_created
        from django.db.models.signals import post_migrate

        from daozhang.core import (
            checks,  # noqa: F401 - registers the secrets' system checks
            tasks,  # noqa: F401 - registers periodic jobs
        )
        from daozhang.core.db import create_private_sqlite_file, private_sqlite_files
        from daozhang.core.dbroles import grant_after_migrate
        from daozhang.core.sqlfunctions import register

        connection_created.connect(register, dispatch_uid="daozhang.core.sqlfunctions")
        create_private_sqlite_file()
        connection_created.connect(private_sqlite_files, dispatch_uid="daozhang.core.private_sqlite_files")
        # After `migrate` as the owner: the application role's rights (core.dbroles).
        post_migrate.connect(grant_after_migrate, sender=self, dispatch_uid="daozhang.core.dbroles")
