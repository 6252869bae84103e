"""130429 (throughput reached) slows a number by how many of a batch's sends it refused: a
refusal or two at the edge of the gateway's window leave the pace alone, a few ease it, most
of a batch refused halves it. Either way the refused messages wait and go out again."""

from __future__ import annotations

import pytest

from messaging.campaigns.models import Message
from messaging.engine import dispatch
from messaging.engine.limiter import Pace
from messaging.gateways.base import Outcome, ProviderError

pytestmark = pytest.mark.django_db


def _record(number, claimed: list[dispatch.Claimed], refused: int) -> None:
    outcomes = [
        Outcome.from_error(
            str(c.public_id), ProviderError(code=130429, title="Rate limit hit"), attempt=1
        )
        if i < refused
        else Outcome.accepted(str(c.public_id), f"wamid.{c.id}")
        for i, c in enumerate(claimed)
    ]
    dispatch.record(
        sender=number,
        sent=claimed,
        outcomes=outcomes,
        bodies={c.id: "Hi" for c in claimed},
        skipped=[],
        result=dispatch.DrainResult(),
    )


def _gap_between_slots(number) -> float:
    grant = dispatch.limiter().acquire(
        f"sender:{number.pk}", 2, Pace(rate=float(number.throughput_per_second))
    )
    return grant.slots[1] - grant.slots[0]


@pytest.mark.parametrize(
    ("refused", "expected_factor"),
    [(0, 1.0), (1, 1.0), (2, 1.0), (3, 0.9), (10, 0.9), (11, 0.5), (60, 0.5)],
)
def test_the_slow_down_follows_the_share_of_refused_sends(
    sandbox_number, contacts, credits, launch, refused, expected_factor
) -> None:
    contacts(100)
    credits(100)
    number = sandbox_number(rate=80)
    launch([number])
    claimed = dispatch.claim(sender_id=number.pk, limit=100)
    assert len(claimed) == 100

    _record(number, claimed, refused)

    assert _gap_between_slots(number) == pytest.approx(1 / (80 * expected_factor), rel=0.01)
    waiting = Message.objects.filter(id__in=[c.id for c in claimed], status="queued")
    assert waiting.count() == refused  # the refused ones go out again, later
