"""Launch a campaign to 100,000 contacts: seconds until every message is queued, peak RSS.

Targets (issue #6): <= 5 s, < 300 MB. Usage: .venv/bin/python bench/fanout.py [N]"""

from __future__ import annotations

import sys
import time
import uuid

from _setup import django_setup, emit, peak_rss_mb, seed_contacts


def main(n: int) -> None:
    django_setup()

    from accounts.models import User, Workspace
    from billing import services as billing
    from messaging.campaigns import services as campaigns
    from messaging.campaigns.models import Campaign, Message
    from messaging.content.models import MessageTemplate
    from messaging.engine.fanout import fanout_chunk
    from messaging.numbers.models import Sender

    tag = uuid.uuid4().hex[:8]
    owner = User.objects.create_user(email=f"bench-{tag}@example.com", password=None)
    workspace = Workspace.objects.create(name=f"Bench {tag}", slug=f"bench-{tag}")
    sender = Sender.objects.create(
        workspace=workspace,
        provider="sandbox",
        status="active",
        phone_number="+99455" + tag[:7].translate(str.maketrans("abcdef", "123456")),
        phone_number_id=str(uuid.uuid4().int)[:15],
    )
    template = MessageTemplate.objects.create(
        workspace=workspace, name="B", variants=["Hi {{first_name}}"]
    )
    t0 = time.perf_counter()
    seed_contacts(workspace.pk, n)
    seed_seconds = time.perf_counter() - t0
    billing.credits_adjust(workspace=workspace, amount=n, reason="bench", actor=owner)
    campaign = campaigns.campaign_create(
        workspace=workspace,
        actor=owner,
        name="Bench",
        template=template,
        senders=[sender],
        audience={},
    )

    start = time.perf_counter()
    campaigns.campaign_launch(workspace=workspace, campaign=campaign, actor=owner)
    chunks = 1
    while fanout_chunk(campaign_id=campaign.pk):
        chunks += 1
    queued_seconds = time.perf_counter() - start

    queued = Message.objects.filter(campaign=campaign).count()
    campaign.refresh_from_db()
    emit(
        {
            "benchmark": "fanout",
            "contacts": n,
            "queued": queued,
            "status": campaign.status,
            "seconds_until_all_queued": round(queued_seconds, 2),
            "chunks": chunks,
            "messages_per_second": round(queued / queued_seconds),
            "peak_rss_mb": peak_rss_mb(),
            "seed_seconds": round(seed_seconds, 2),
            "targets": {"seconds": 5, "peak_rss_mb": 300},
        }
    )
    Campaign.objects.filter(pk=campaign.pk).update(status="cancelled")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000)
