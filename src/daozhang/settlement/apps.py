from django.apps import AppConfig


class SettlementConfig(AppConfig):
    name = "daozhang.settlement"
    label = "settlement"
    verbose_name = "Settlement 结算"

    def ready(self) -> None:
        from daozhang.settlement import tasks  # noqa: F401 - registers periodic jobs
        from daozhang.settlement.adjustment_source import ADJUSTMENTS
        from daozhang.settlement.payout_source import PAYOUT_CHECKS
        from daozhang.settlement.sources import register

        register(ADJUSTMENTS)
        register(PAYOUT_CHECKS)
