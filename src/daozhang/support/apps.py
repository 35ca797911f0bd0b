from django.apps import AppConfig


class SupportConfig(AppConfig):
    name = "daozhang.support"
    label = "support"
    verbose_name = "Support 客服"
