"""The whole loop over HTTP: the product submits a template to the sandbox, the sandbox's
reviewer (its control API) decides, and Meta's signed `message_template_*` webhooks reach the
product's receiver and update the template at once (status, rejection reason, quality,
category), sending the status signal."""

from __future__ import annotations

import pytest
from django.test import override_settings
from django.urls import reverse

from messaging.content import services
from messaging.content.models import WhatsAppTemplate
from messaging.numbers import services as senders
from tests.factories import MembershipFactory

from ..conftest import wait_until

pytestmark = pytest.mark.django_db(transaction=True)

BODY = {
    "type": "BODY",
    "text": "Salam {{1}}, your order {{2}} is on its way.",
    "example": {"body_text": [["Aysel", "#1042"]]},
}


def _status(template: WhatsAppTemplate) -> str:
    template.refresh_from_db()
    return template.status


def test_submitted_template_is_approved_or_rejected_by_webhook(
    live_server, sandbox, status_changes
) -> None:
    owner = MembershipFactory().user
    workspace = owner.memberships.get().workspace
    with override_settings(SANDBOX_GATEWAY_URL=sandbox.base_url, SITE_URL=live_server.url):
        number = senders.sender_connect_sandbox(workspace=workspace, actor=owner)
        # connecting synced the starter template already (on commit)
        assert WhatsAppTemplate.objects.filter(
            workspace=workspace, name="isend_welcome", status="APPROVED"
        ).exists()
        good, bad = (
            services.whatsapp_template_create(
                workspace=workspace,
                sender=number,
                name=name,
                language="az",
                category="UTILITY",
                components=[BODY],
                actor=owner,
            )
            for name in ("order_shipped", "order_spam")
        )
        assert (good.status, bad.status) == ("PENDING", "PENDING")

        # Meta's reviewer decides (the sandbox's control API)
        approve = sandbox.call(
            "POST", f"/_sandbox/templates/{good.meta_id}/status", {"status": "APPROVED"}
        )
        reject = sandbox.call(
            "POST",
            f"/_sandbox/templates/{bad.meta_id}/status",
            {"status": "REJECTED", "reason": "PROMOTIONAL"},
        )
        assert (approve.status, reject.status) == (200, 200)

        wait_until(lambda: _status(good) == "APPROVED" and _status(bad) == "REJECTED")
        assert bad.rejected_reason == "PROMOTIONAL"
        assert ("order_shipped", "PENDING", "APPROVED", "") in status_changes
        assert ("order_spam", "PENDING", "REJECTED", "PROMOTIONAL") in status_changes

        # the rejection reason is shown to the user
        from django.test import Client

        client = Client()
        client.force_login(owner)
        page = client.get(
            reverse("messaging:whatsapp_template_detail", args=[workspace.slug, bad.public_id])
        )
        assert "Meta rejected this template" in page.content.decode()
        assert "PROMOTIONAL" in page.content.decode()
        # and the workspace was told, in the app and by e-mail
        from django.core import mail

        from accounts.models import Notification

        texts = set(Notification.objects.filter(workspace=workspace).values_list("text", flat=True))
        assert {
            "Meta approved your WhatsApp template order_shipped (az).",
            "Meta rejected your WhatsApp template order_spam (az) (PROMOTIONAL).",
        } <= texts
        assert any("order_spam" in m.body for m in mail.outbox)

        # quality and category changes arrive the same way
        sandbox.call(
            "POST", f"/_sandbox/templates/{good.meta_id}/quality", {"quality_score": "YELLOW"}
        )
        sandbox.call(
            "POST", f"/_sandbox/templates/{good.meta_id}/category", {"category": "MARKETING"}
        )
        wait_until(
            lambda: WhatsAppTemplate.objects.filter(
                pk=good.pk, quality="YELLOW", category="MARKETING"
            ).exists()
        )

        # paused for low quality, then reinstated
        sandbox.call("POST", f"/_sandbox/templates/{good.meta_id}/status", {"status": "PAUSED"})
        wait_until(lambda: _status(good) == "PAUSED")
        sandbox.call("POST", f"/_sandbox/templates/{good.meta_id}/status", {"status": "REINSTATED"})
        wait_until(lambda: _status(good) == "APPROVED")
        assert [c[1:3] for c in status_changes if c[0] == "order_shipped"] == [
            ("PENDING", "APPROVED"),
            ("APPROVED", "PAUSED"),
            ("PAUSED", "APPROVED"),
        ]
        sandbox.wait_idle()  # no late webhook reaches the live server during the flush


def test_two_syncs_at_once_store_each_template_once(sandbox) -> None:
    """The button, the API and the daily job may sync one account at the same moment: both
    finish, and each template is stored once."""
    import threading

    from ..conftest import http

    owner = MembershipFactory().user
    workspace = owner.memberships.get().workspace
    with override_settings(SANDBOX_GATEWAY_URL=sandbox.base_url):
        number = senders.sender_connect_sandbox(workspace=workspace, actor=owner)
        WhatsAppTemplate.objects.filter(workspace=workspace).delete()  # the connect's own sync
        for i in range(40):
            answer = http(
                "POST",
                f"{sandbox.base_url}/_sandbox/templates",
                {"waba_id": number.waba_id, "name": f"offer_{i:02d}", "language": "az",
                 "category": "MARKETING", "components": [BODY]},
            )  # fmt: skip
            assert answer.status == 201
        results, errors = [], []
        start = threading.Barrier(2)

        def sync() -> None:
            from django.db import connection

            try:
                start.wait()
                results.append(services.whatsapp_templates_sync(workspace=workspace, sender=number))
            except Exception as exc:  # noqa: BLE001 - reported below
                errors.append(exc)
            finally:
                connection.close()

        threads = [threading.Thread(target=sync) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)

    assert errors == []
    assert sorted(r.created for r in results) == [0, 41]
    assert WhatsAppTemplate.objects.filter(workspace=workspace).count() == 41
