from django.apps import AppConfig


class DatesConfig(AppConfig):
    name = "daozhang.dates"
    label = "dates"
    verbose_name = "Business dates 营业日历"
