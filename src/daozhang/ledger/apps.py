from django.apps import AppConfig


class LedgerConfig(AppConfig):
    name = "daozhang.ledger"
    label = "ledger"
    verbose_name = "Ledger 账本"

    def ready(self) -> None:
        from daozhang.core.dbroles import append_only

        # Never updated or deleted (ledger 0002, 0010): the application role may only add and read.
        append_only("ledger_entry", "ledger_posting")
