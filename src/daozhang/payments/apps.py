from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "daozhang.payments"
    label = "payments"
    verbose_name = "Payments 交易"

    def ready(self) -> None:
        from daozhang.payments import tasks  # noqa: F401 - registers periodic jobs
        from daozhang.payments.settlement_source import SALES
        from daozhang.settlement.sources import register

        register(SALES)
