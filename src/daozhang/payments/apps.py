from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "daozhang.payments"
    label = "payments"
    verbose_name = "Payments 交易"

    def ready(self) -> None:
        from daozhang.ledger.checks import register as register_checks
        from daozhang.payments import tasks  # noqa: F401 - registers periodic jobs
        from daozhang.payments.ledger_checks import CHECKS
        from daozhang.payments.settlement_source import SALES
        from daozhang.settlement.sources import register

        register_checks(*CHECKS)  # what `ledger check` verifies of this flow (ledger.checks)
        register(SALES)
