from django.apps import AppConfig


class ChannelsConfig(AppConfig):
    name = "daozhang.channels"
    label = "channels"
    verbose_name = "Channels 支付通道"
