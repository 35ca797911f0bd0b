from django.apps import AppConfig


class MerchantsConfig(AppConfig):
    name = "daozhang.merchants"
    label = "merchants"
    verbose_name = "Merchants 商户"
