from django.apps import AppConfig


class ConsoleConfig(AppConfig):
    """The operations console: staff pages, guarded by role (Django groups)."""

    name = "daozhang.console"
    label = "console"
