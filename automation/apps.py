from typing import Any

from django.apps import AppConfig


class AutomationConfig(AppConfig):
    name = "automation"
    verbose_name = "Automation"

    def ready(self) -> None:
        from messaging.engine.signals import inbound_replies_stored

        inbound_replies_stored.connect(_enqueue_rules, dispatch_uid="automation.rules_for_inbound")


def _enqueue_rules(*, workspace_id: int, inbound_ids: list[int], **_kwargs: Any) -> None:
    from automation.services import rules_enqueue_for_inbound

    rules_enqueue_for_inbound(workspace_id=workspace_id, inbound_ids=inbound_ids)
