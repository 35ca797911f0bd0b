from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "daozhang.notifications"
    label = "notifications"
    verbose_name = "Notifications 通知"
