from django.apps import AppConfig


class RiskConfig(AppConfig):
    name = "daozhang.risk"
    label = "risk"
    verbose_name = "Risk 风控"
