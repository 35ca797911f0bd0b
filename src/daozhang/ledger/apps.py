from django.apps import AppConfig


class LedgerConfig(AppConfig):
    name = "daozhang.ledger"
    label = "ledger"
    verbose_name = "Ledger 账本"
