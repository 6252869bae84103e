"""Reads of message templates, scoped to a workspace."""

from __future__ import annotations

import uuid

from django.db.models import (
    QuerySet,
)

from accounts.models import Workspace
from core.queries import get_or_404
from messaging.content.models import MessageTemplate


def get_template_for_workspace(
    *, workspace: Workspace, template_id: uuid.UUID | str
) -> MessageTemplate:
    return get_or_404(MessageTemplate.objects.for_workspace(workspace), public_id=template_id)


def templates_of_workspace(*, workspace: Workspace) -> QuerySet[MessageTemplate]:
    return MessageTemplate.objects.for_workspace(workspace).order_by("name")
