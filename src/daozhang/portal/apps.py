from django.apps import AppConfig


class PortalConfig(AppConfig):
    """The merchant portal: a merchant's own payments, settlements, traces and account."""

    name = "daozhang.portal"
    label = "portal"
