"""Engine fixtures: a workspace with credits, contacts, a template and sandbox numbers."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest
from django.test import override_settings
from django.utils import timezone

from billing import services as billing
from messaging.campaigns import services as campaigns
from messaging.campaigns.models import Campaign, Message
from messaging.contacts.models import Contact
from messaging.content.models import MessageTemplate
from messaging.engine import dispatch, fanout
from messaging.numbers import services as senders
from messaging.numbers.models import Sender

from ..conftest import SandboxClient


@pytest.fixture
def engine_sandbox(sandbox: SandboxClient) -> Iterator[SandboxClient]:
    with override_settings(SANDBOX_GATEWAY_URL=sandbox.base_url):
        yield sandbox
    # each number's limiter state is keyed by its id; ids are not reused across tests


@pytest.fixture
def sandbox_number(workspace, owner, engine_sandbox) -> Callable[..., Sender]:
    def make(rate: int = 500, daily_cap: int = 100_000) -> Sender:
        sender = senders.sender_connect_sandbox(workspace=workspace, actor=owner)
        Sender.objects.filter(pk=sender.pk).update(throughput_per_second=rate, daily_cap=daily_cap)
        sender.refresh_from_db()
        senders._sandbox_register(sender)  # the sandbox enforces the same rate
        dispatch.limiter().reset(f"sender:{sender.pk}")
        return sender

    return make


@pytest.fixture
def contacts(workspace) -> Callable[[int], list[Contact]]:
    def make(n: int, *, start: int = 1_000_000) -> list[Contact]:
        return Contact.objects.bulk_create(
            Contact(workspace=workspace, phone=f"+99450{start + i:07d}", first_name=f"Name{i}")
            for i in range(n)
        )

    return make


@pytest.fixture
def template(workspace) -> MessageTemplate:
    return MessageTemplate.objects.create(
        workspace=workspace,
        name="Promo",
        variants=["{Hi|Hello} {{first_name|friend}}!", "Salam {{first_name}}"],
    )


@pytest.fixture
def credits(workspace, owner) -> Callable[[int], None]:
    def give(n: int) -> None:
        billing.credits_adjust(workspace=workspace, amount=n, reason="test credits", actor=owner)

    return give


@pytest.fixture
def launch(workspace, owner, template) -> Callable[..., Campaign]:
    def run(
        numbers: list[Sender], *, audience: dict | None = None, name: str = "Campaign"
    ) -> Campaign:
        campaign = campaigns.campaign_create(
            workspace=workspace,
            actor=owner,
            name=name,
            template=template,
            senders=numbers,
            audience=audience or {},
        )
        campaigns.campaign_launch(workspace=workspace, campaign=campaign, actor=owner)
        while fanout.fanout_chunk(campaign_id=campaign.pk, chunk=400):
            pass
        campaign.refresh_from_db()
        return campaign

    return run


def drain_all(numbers: list[Sender], *, budget_seconds: float = 60.0) -> None:
    """Run drainers until none of these numbers has open work (what the dispatch workers and
    the periodic tick do), waiting out retry delays."""
    deadline = time.monotonic() + budget_seconds
    ids = [n.pk for n in numbers]
    while time.monotonic() < deadline:
        for number in numbers:
            dispatch.drain(sender_id=number.pk, slice_seconds=2.0)
        open_work = Message.objects.filter(
            sender_id__in=ids, status__in=[Message.Status.QUEUED, Message.Status.SENDING]
        )
        if not open_work.exists():
            return
        if not open_work.filter(next_attempt_at__lte=timezone.now()).exists():
            time.sleep(0.2)
    raise AssertionError("the drainers did not finish in time")
