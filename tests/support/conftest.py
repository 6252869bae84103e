"""Fixtures for the support desk: attachments in a temporary media folder, a support agent
(staff in the Support group), and clients signed in as a workspace's members."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.test import Client

from accounts.models import Membership, User, Workspace
from accounts.permissions import Role
from support import services
from support.models import Ticket
from tests.factories import MembershipFactory, UserFactory

# A one-pixel PNG: a file a customer would attach (a screenshot).
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
    b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00"
    b"\x00\x00IEND\xaeB`\x82"
)


@pytest.fixture(autouse=True)
def media_root(settings: Any, tmp_path: Path) -> Path:
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def agent(db: None) -> User:
    user = UserFactory(email="agent@isend.example", is_staff=True)
    user.groups.add(Group.objects.get(name="Support"))
    return user


@pytest.fixture
def agent_client(agent: User) -> Client:
    client = Client()
    client.force_login(agent)
    return client


@pytest.fixture
def member_of(workspace: Workspace) -> Callable[..., User]:
    def make(role: str = Role.MEMBER, ws: Workspace | None = None, **kwargs: Any) -> User:
        membership: Membership = MembershipFactory(
            workspace=ws or workspace, role=role, user=UserFactory(**kwargs)
        )
        return membership.user

    return make


def client_for(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def open_ticket(workspace: Workspace) -> Callable[..., Ticket]:
    def make(user: User, ws: Workspace | None = None, **kwargs: Any) -> Ticket:
        return services.ticket_open(
            workspace=ws or workspace,
            user=user,
            subject=kwargs.pop("subject", "Campaign stuck"),
            category=kwargs.pop("category", Ticket.Category.TECHNICAL),
            body=kwargs.pop("body", "My campaign has been sending for two hours."),
            **kwargs,
        )

    return make
