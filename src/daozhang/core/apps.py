from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "daozhang.core"
    label = "core"
