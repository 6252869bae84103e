"""Reads of message templates, scoped to a workspace."""

from __future__ import annotations

import uuid

from django.db.models import (
    QuerySet,
)

from accounts.models import Workspace
from core.queries import by_name, get_or_404
from messaging.content.models import MessageTemplate, WhatsAppTemplate
from messaging.numbers.models import Sender


def get_template_for_workspace(
    *, workspace: Workspace, template_id: uuid.UUID | str
) -> MessageTemplate:
    return get_or_404(MessageTemplate.objects.for_workspace(workspace), public_id=template_id)


def templates_of_workspace(*, workspace: Workspace) -> QuerySet[MessageTemplate]:
    return MessageTemplate.objects.for_workspace(workspace).order_by(by_name())


def whatsapp_templates_of_workspace(
    *, workspace: Workspace, waba_id: str | None = None, include_deleted: bool = False
) -> QuerySet[WhatsAppTemplate]:
    """The workspace's Meta templates (one WABA's with `waba_id`), by name then language."""
    templates = WhatsAppTemplate.objects.for_workspace(workspace)
    if waba_id is not None:
        templates = templates.filter(waba_id=waba_id)
    if not include_deleted:
        templates = templates.exclude(status=WhatsAppTemplate.Status.DELETED)
    return templates.order_by(by_name(), "language")


def get_whatsapp_template_for_workspace(
    *, workspace: Workspace, template_id: uuid.UUID | str
) -> WhatsAppTemplate:
    return get_or_404(WhatsAppTemplate.objects.for_workspace(workspace), public_id=template_id)


def template_numbers_of_workspace(*, workspace: Workspace) -> QuerySet[Sender]:
    """The live numbers that have Meta templates: Cloud API and sandbox numbers with a WABA."""
    return (
        Sender.objects.for_workspace(workspace)
        .filter(
            removed_at__isnull=True,
            provider__in=[Sender.Provider.CLOUD_API, Sender.Provider.SANDBOX],
        )
        .exclude(waba_id="")
        .order_by("created_at")
    )
