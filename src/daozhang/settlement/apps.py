from django.apps import AppConfig


class SettlementConfig(AppConfig):
    name = "daozhang.settlement"
    label = "settlement"
    verbose_name = "Settlement 结算"

    def ready(self) -> None:
        from daozhang.ledger.checks import register as register_checks
        from daozhang.settlement import (
            accounts,
            adjustments,
            tasks,  # noqa: F401 - registers periodic jobs
        )
        from daozhang.settlement.adjustment_source import ADJUSTMENTS
        from daozhang.settlement.ledger_checks import CHECKS
        from daozhang.settlement.payout_source import PAYOUT_CHECKS
        from daozhang.settlement.sources import register

        register_checks(*CHECKS)  # what `ledger check` verifies of this flow (ledger.checks)
        register(ADJUSTMENTS)
        register(PAYOUT_CHECKS)  # the payout's own checks, shown by the trace as notes
        adjustments.register_approval_kind()  # large adjustments wait for a second staff member
        accounts.register_approval_kind()  # so do risky settlement-account changes
