from django.apps import AppConfig


class ConsoleConfig(AppConfig):
    """The operations console: staff pages, guarded by role (Django groups)."""

    name = "daozhang.console"
    label = "console"

    def ready(self) -> None:
        """Keep the role groups in step with console/roles.py after every migrate."""
        from django.db.models.signals import post_migrate

        from daozhang.console.roles import sync_roles_after_migrate

        post_migrate.connect(sync_roles_after_migrate, sender=self, dispatch_uid="console.sync_roles")
