from django.apps import AppConfig


class RiskConfig(AppConfig):
    name = "daozhang.risk"
    label = "risk"
    verbose_name = "Risk 风控"

    def ready(self) -> None:
        from daozhang.ledger.checks import register as register_checks
        from daozhang.risk.ledger_checks import CHECKS
        from daozhang.risk.settlement_source import HOLDS
        from daozhang.settlement.sources import register

        register_checks(*CHECKS)  # what `ledger check` verifies of this flow (ledger.checks)
        register(HOLDS)
