"""Fixtures for contact, import, template and API tests (real Postgres)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from accounts.models import Workspace
from messaging.contacts import services
from messaging.contacts.models import Contact


@pytest.fixture
def make_contact(db: None) -> Callable[..., Contact]:
    def make(workspace: Workspace, phone: str = "+994501234567", **fields: Any) -> Contact:
        return services.contact_create(workspace=workspace, data={"phone": phone, **fields})

    return make
