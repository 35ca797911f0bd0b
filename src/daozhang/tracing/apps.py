from django.apps import AppConfig


class TracingConfig(AppConfig):
    name = "daozhang.tracing"
    label = "tracing"
    verbose_name = "Tracing 资金追踪"
