from typing import Any

from django.apps import AppConfig


class IntegrationsConfig(AppConfig):
    name = "integrations"
    verbose_name = "Integrations"

    def ready(self) -> None:
        from core.events import events_published

        events_published.connect(_deliver, dispatch_uid="integrations.webhook_deliveries")


def _deliver(*, workspace_id: int, events: list[tuple[str, dict[str, Any]]], **_kw: Any) -> None:
    from integrations.services import webhook_events_publish

    webhook_events_publish(workspace_id=workspace_id, events=events)
