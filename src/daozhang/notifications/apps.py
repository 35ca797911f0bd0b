from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "daozhang.notifications"
    label = "notifications"
    verbose_name = "Notifications 通知"

    def ready(self) -> None:
        from daozhang.notifications import checks  # noqa: F401 - registers the no-sandbox-in-production check
        from daozhang.notifications.subscribers import register

        register()  # SMS and e-mail to merchants, from the outbox's events (core.events)
