from django.apps import AppConfig


class WebConfig(AppConfig):
    """What the merchant portal and the operations console share: the page layout, the
    login with lockout, the bilingual template tag, money formatting and vendored assets."""

    name = "daozhang.web"
    label = "web"
