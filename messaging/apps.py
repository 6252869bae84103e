from django.apps import AppConfig


class MessagingConfig(AppConfig):
    name = "messaging"
    verbose_name = "Messaging"

    def ready(self) -> None:
        from core.health import register_check
        from messaging.engine.recovery import oldest_due_age_check

        register_check("oldest_due_message", oldest_due_age_check)
