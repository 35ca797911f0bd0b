from django.apps import AppConfig


class RiskConfig(AppConfig):
    name = "daozhang.risk"
    label = "risk"
    verbose_name = "Risk 风控"

    def ready(self) -> None:
        from daozhang.risk.settlement_source import HOLDS
        from daozhang.settlement.sources import register

        register(HOLDS)
