from django.apps import AppConfig


class CliConfig(AppConfig):
    """The process commands (`serve`, `worker`, `demo`): faces over every domain, so they
    live above them, not in core."""

    name = "daozhang.cli"
    label = "cli"
