from django.apps import AppConfig


class TerminalsConfig(AppConfig):
    name = "daozhang.terminals"
    label = "terminals"
    verbose_name = "Terminals 终端"
