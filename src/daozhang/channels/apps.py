from django.apps import AppConfig


class ChannelsConfig(AppConfig):
    name = "daozhang.channels"
    label = "channels"
    verbose_name = "Channels 支付通道"

    def ready(self) -> None:
        from daozhang.channels import checks  # noqa: F401 - registers the no-sandbox-in-production checks
