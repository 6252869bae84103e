"""The demo workspace's content: what a visitor of a fresh install sees working at once.

`demo_content_seed` gives the demo workspace a sandbox number, about two hundred contacts with
Azerbaijani names in two lists, a message template, credits and one finished campaign with
delivery, read and failure figures and a few replies. Idempotent: each piece is created only
when missing, so `seed_demo` may run on every `make run`.

Nothing is written behind the engine's back. The campaign is launched by the campaign service,
fanned out by the engine, sent by the real drainer to a real sandbox gateway (an in-process
one on a free port, so seeding needs no running `make run`), and its delivery receipts and
replies go through the same ingestion as a gateway's webhooks. The counters, the messages log,
the statistics table and the credit ledger therefore agree exactly as they do in production.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.test.utils import override_settings
from django.utils import timezone

from accounts.models import User, Workspace
from billing import services as billing
from core.crypto import encrypt_json
from messaging.campaigns import services as campaigns
from messaging.campaigns.models import Campaign, Message
from messaging.contacts import services as contacts
from messaging.contacts.models import Contact, ContactList
from messaging.content import services as content
from messaging.content.models import MessageTemplate
from messaging.engine import dispatch, fanout, ingest, reactions
from messaging.gateways.base import (
    DeliveryStatus,
    InboundMessageEvent,
    ProviderError,
    StatusEvent,
    classify_error_code,
)
from messaging.numbers.models import Sender

logger = logging.getLogger(__name__)

CAMPAIGN_NAME = "Novruz sale"
TEMPLATE_NAME = "Novruz offer"
LIST_CUSTOMERS = "Customers"
LIST_NEWSLETTER = "Newsletter"
CREDITS = 2000
CREDITS_KEY = "demo:credits:{workspace}"
# The demo number: fixed, so the sandbox page and the numbers page show the same one each run.
SENDER_PHONE = "+994550000100"
SENDER_PHONE_NUMBER_ID = "994550000100"
CONTACTS = 200

FIRST_NAMES = [
    "Aysel", "Leyla", "Günel", "Nigar", "Səbinə", "Aynur", "Könül", "Şəbnəm", "Ülviyyə", "Xədicə",
    "Nərmin", "Çiçək", "Elvin", "Rəşad", "Orxan", "Tural", "Kamran", "Ülvi", "Rüstəm", "İlkin",
]  # fmt: skip
LAST_NAMES = [
    "Məmmədov", "Əliyev", "Həsənov", "Hüseynov", "Quliyev", "İsmayılov", "Şirinov", "Ağayev",
    "Cəfərov", "Xəlilov",
]  # fmt: skip
REPLIES = [
    "Salam! Endirim nə vaxta qədərdir?",
    "Çox sağ olun, sifariş vermək istəyirəm",
    "Ünvanınız haradır?",
    "Здравствуйте, доставка есть?",
    "Təşəkkürlər!",
    "Qiymət siyahısını göndərə bilərsiniz?",
    "Hello, is this offer valid in Ganja too?",
    "STOP",
]


@dataclass(frozen=True)
class DemoFigures:
    contacts: int
    lists: int
    campaign: Campaign


def _female(first_name: str) -> bool:
    return FIRST_NAMES.index(first_name) < 12


def _people() -> list[contacts.UpsertRow]:
    """Two hundred people, the same ones every run (phones are the upsert's key)."""
    rows = []
    for i in range(CONTACTS):
        first = FIRST_NAMES[i % len(FIRST_NAMES)]
        last = LAST_NAMES[(i * 7 + i // len(FIRST_NAMES)) % len(LAST_NAMES)]
        if _female(first):
            last += "a"  # Məmmədova, Əliyeva, ...
        operator = ("50", "51", "55", "70", "77")[i % 5]
        rows.append(
            contacts.UpsertRow(
                phone=f"+994{operator}3{i:06d}",
                first_name=first,
                last_name=last,
                country="AZ",
                time_zone="Asia/Baku",
                attributes={"city": ("Bakı", "Gəncə", "Sumqayıt", "Şəki")[i % 4]},
                tags=["vip"] if i % 9 == 0 else [],
            )
        )
    return rows


def _sender(workspace: Workspace) -> Sender:
    sender = Sender.objects.for_workspace(workspace).filter(phone_number=SENDER_PHONE).first()
    if sender is not None:
        return sender
    return Sender.objects.create(
        workspace=workspace,
        provider=Sender.Provider.SANDBOX,
        label="Demo sandbox number",
        phone_number=SENDER_PHONE,
        phone_number_id=SENDER_PHONE_NUMBER_ID,
        waba_id=f"sandbox-waba-{SENDER_PHONE_NUMBER_ID}",
        credentials_encrypted=encrypt_json(
            {"access_token": "demo-sandbox-token", "app_secret": "demo-sandbox-secret"}
        ),
        status=Sender.Status.ACTIVE,
    )


def _lists(workspace: Workspace) -> tuple[ContactList, ContactList]:
    found = {
        cl.name: cl
        for cl in ContactList.objects.for_workspace(workspace).filter(
            name__in=[LIST_CUSTOMERS, LIST_NEWSLETTER]
        )
    }
    customers = found.get(LIST_CUSTOMERS) or contacts.contact_list_create(
        workspace=workspace, name=LIST_CUSTOMERS, description="Bought at least once"
    )
    newsletter = found.get(LIST_NEWSLETTER) or contacts.contact_list_create(
        workspace=workspace, name=LIST_NEWSLETTER, description="Signed up on the website"
    )
    phones = [row.phone for row in _people()]
    people = Contact.objects.for_workspace(workspace).filter(phone__in=phones)
    contacts.contact_list_add_contacts(
        workspace=workspace, contact_list=customers, contacts=people.filter(phone__in=phones[:140])
    )
    contacts.contact_list_add_contacts(
        workspace=workspace, contact_list=newsletter, contacts=people.filter(phone__in=phones[90:])
    )
    return customers, newsletter


def _template(workspace: Workspace, actor: User) -> MessageTemplate:
    template = MessageTemplate.objects.for_workspace(workspace).filter(name=TEMPLATE_NAME).first()
    if template is not None:
        return template
    return content.template_create(
        workspace=workspace,
        actor=actor,
        data={
            "name": TEMPLATE_NAME,
            "variants": [
                "{Salam|Hörmətli} {{first_name|müştəri}}! Novruz bayramı münasibətilə bütün "
                "məhsullara 20% endirim. Kod: NOVRUZ20",
                "Salam {{first_name|dost}}! Novruz endirimi: 20%, kod NOVRUZ20. "
                "Bayramınız mübarək!",
            ],
            "footer": "STOP - abunəlikdən çıxmaq",
        },
    )


def _credits(workspace: Workspace, actor: User) -> None:
    key = CREDITS_KEY.format(workspace=workspace.pk)
    billing.credits_adjust(  # idempotent on the key: given once per workspace
        workspace=workspace,
        amount=CREDITS,
        reason="Demo credits",
        actor=actor,
        idempotency_key=key,
    )


# --- sending the demo campaign for real, to an in-process sandbox ------------------------------


@contextmanager
def _sandbox_in_process() -> Iterator[str]:
    """The sandbox gateway on a free loopback port in a background thread, for as long as the
    block runs. The sandbox itself needs no Django; this is how tests run it too (as a server)."""
    from aiohttp import web

    from messaging.sandbox.config import SandboxConfig
    from messaging.sandbox.server import build_app

    loop = asyncio.new_event_loop()
    runner = web.AppRunner(build_app(SandboxConfig(seed=2026)), access_log=None)
    loop.run_until_complete(runner.setup())
    site = web.TCPSite(runner, "127.0.0.1", 0)
    loop.run_until_complete(site.start())
    port = runner.addresses[0][1]
    thread = threading.Thread(target=loop.run_forever, name="demo-sandbox", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.run_until_complete(runner.cleanup())
        loop.close()


def _sandbox_register(base_url: str, sender: Sender, *, callback_url: str | None) -> None:
    """Tell a sandbox about the demo number (its control API; idempotent). Without a callback
    URL the sandbox sends no webhooks: the demo applies its receipts itself, below."""
    payload: dict[str, object] = {
        "phone_number_id": sender.phone_number_id,
        "display_phone_number": sender.phone_number.lstrip("+"),
        "access_token": "demo-sandbox-token",
        "app_secret": "demo-sandbox-secret",
        "throughput_per_second": sender.throughput_per_second,
        "waba_id": sender.waba_id,
    }
    if callback_url:
        payload["callback_url"] = callback_url
    request = urllib.request.Request(  # noqa: S310 - our own sandbox's URL
        base_url + "/_sandbox/numbers",
        data=json.dumps(payload).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310 # nosec B310
        response.read()


def _drain(sender: Sender, *, budget_seconds: float = 120.0) -> None:
    dispatch.limiter().reset(f"sender:{sender.pk}")
    deadline = time.monotonic() + budget_seconds
    while time.monotonic() < deadline:
        dispatch.drain(sender_id=sender.pk, slice_seconds=5.0)
        open_work = Message.objects.filter(
            sender=sender, indexed_status__in=[Message.Status.QUEUED, Message.Status.SENDING]
        )
        if not open_work.exists():
            return
        time.sleep(0.1)
    raise RuntimeError("the demo campaign did not finish sending in time")


def _receipts(sender: Sender, campaign: Campaign) -> list[object]:
    """What WhatsApp would report afterwards, in realistic shares (drawn from a seeded random
    generator): every accepted message sent; about 5% then fail (the recipient's phone was
    unreachable), the rest delivered, about 60% of all read; a few readers reply, the last
    reply is a STOP."""
    rng = random.Random(campaign.public_id.int)  # noqa: S311 - demo figures, not security
    accepted = list(
        Message.objects.filter(campaign=campaign, status=Message.Status.ACCEPTED).order_by("id")
    )
    # An unreachable phone, not a block: a 131048/131049 share this large (5%) would trip the
    # number's protection at the beat's first check and pause a newcomer's first campaign.
    error = ProviderError(code=131026, title="Message undeliverable")

    def status(message: Message, value: DeliveryStatus, **extra: Any) -> StatusEvent:
        return StatusEvent(
            account_id=sender.phone_number_id,
            provider_message_id=message.provider_message_id,
            status=value,
            recipient=message.phone.lstrip("+"),
            timestamp=None,
            public_id=str(message.public_id),
            **extra,
        )

    events: list[object] = []
    readers: list[Message] = []
    for message in accepted:
        events.append(status(message, DeliveryStatus.SENT))
        draw = rng.random()
        if draw < 0.05:
            failure = classify_error_code(error.code)
            events.append(status(message, DeliveryStatus.FAILED, error=error, failure=failure))
            continue
        events.append(status(message, DeliveryStatus.DELIVERED))
        if draw < 0.66:
            events.append(status(message, DeliveryStatus.READ))
            readers.append(message)
    step = max(1, len(readers) // len(REPLIES))
    for message, text in zip(readers[::step], REPLIES, strict=False):
        events.append(
            InboundMessageEvent(
                account_id=sender.phone_number_id,
                provider_message_id=f"wamid.demo-reply-{message.public_id}",
                sender=message.phone.lstrip("+"),
                timestamp=None,
                kind="text",
                text=text,
            )
        )
    return events


def _finished_campaign(
    workspace: Workspace,
    actor: User,
    sender: Sender,
    template: MessageTemplate,
    customers: ContactList,
) -> Campaign:
    existing = Campaign.objects.for_workspace(workspace).filter(name=CAMPAIGN_NAME).first()
    if existing is not None:
        return existing
    with (
        _sandbox_in_process() as sandbox_url,
        override_settings(SANDBOX_GATEWAY_URL=sandbox_url, ENGINE_KICK_DRAINERS=False),
    ):
        _sandbox_register(sandbox_url, sender, callback_url=None)
        campaign = campaigns.campaign_create(
            workspace=workspace,
            actor=actor,
            name=CAMPAIGN_NAME,
            template=template,
            senders=[sender],
            audience={"list_id": str(customers.public_id)},
        )
        campaigns.campaign_launch(workspace=workspace, campaign=campaign, actor=actor)
        while fanout.fanout_chunk(campaign_id=campaign.pk, chunk=500):
            pass
        _drain(sender)
    ingest.apply_events(sender=sender, events=_receipts(sender, campaign), refresh=False)
    with transaction.atomic():
        reactions.campaigns_refresh(campaign_ids=[campaign.pk], force=True)
    campaign.refresh_from_db()
    return campaign


def demo_content_seed(*, workspace: Workspace, actor: User) -> DemoFigures:
    """Everything the demo workspace shows, created when missing (see the module docstring)."""
    sender = _sender(workspace)
    with transaction.atomic():
        contacts.contacts_upsert_rows(
            workspace=workspace,
            rows=_people(),
            created_via="import",
            consent_source="Demo data",
            now=timezone.now(),
        )
    customers, newsletter = _lists(workspace)
    template = _template(workspace, actor)
    _credits(workspace, actor)
    campaign = _finished_campaign(workspace, actor, sender, template, customers)
    return DemoFigures(
        contacts=Contact.objects.for_workspace(workspace).count(),
        lists=ContactList.objects.for_workspace(workspace).count(),
        campaign=campaign,
    )
