"""Every Graph error code in the research file (§1.4) maps to the intended outcome kind."""

from __future__ import annotations

import pytest

from messaging.gateways.base import (
    ENGAGEMENT_WAIT_SECONDS,
    ERROR_RULES,
    PAIR_RATE_CAP_SECONDS,
    RETRY_LATER_CAP_SECONDS,
    OutboundMessage,
    Outcome,
    OutcomeKind,
    ProviderError,
    classify_error_code,
    pair_rate_backoff,
    retry_later_backoff,
)

K = OutcomeKind

#: Transcribed from shared/research/whatsapp-gateways.md §1.4 (class column -> our kind):
#: R -> retry_later (or rate_limited for throughput), W -> recipient_wait,
#: X -> recipient_permanent, F -> fix_request, P -> sender_blocked, auth P -> credentials_invalid.
RESEARCH_CODES: dict[int, OutcomeKind] = {
    130429: K.RATE_LIMITED,
    131056: K.RECIPIENT_WAIT,
    131048: K.SENDER_BLOCKED,
    131064: K.SENDER_BLOCKED,
    4: K.RATE_LIMITED,
    80007: K.RATE_LIMITED,
    133016: K.SENDER_BLOCKED,
    131047: K.FIX_REQUEST,
    131026: K.RECIPIENT_PERMANENT,
    131050: K.RECIPIENT_PERMANENT,
    131049: K.RECIPIENT_WAIT,
    130403: K.RECIPIENT_PERMANENT,
    130472: K.RECIPIENT_PERMANENT,
    131021: K.RECIPIENT_PERMANENT,
    131030: K.RECIPIENT_PERMANENT,
    368: K.SENDER_BLOCKED,
    131031: K.SENDER_BLOCKED,
    130497: K.RECIPIENT_PERMANENT,
    131042: K.SENDER_BLOCKED,
    131057: K.RETRY_LATER,
    131000: K.RETRY_LATER,
    131016: K.RETRY_LATER,
    2: K.RETRY_LATER,
    1: K.RETRY_LATER,
    0: K.CREDENTIALS_INVALID,
    190: K.CREDENTIALS_INVALID,
    10: K.CREDENTIALS_INVALID,
    131005: K.CREDENTIALS_INVALID,
    3: K.CREDENTIALS_INVALID,
    100: K.FIX_REQUEST,
    131008: K.FIX_REQUEST,
    131009: K.FIX_REQUEST,
    131051: K.FIX_REQUEST,
    131053: K.FIX_REQUEST,
    132000: K.FIX_REQUEST,
    132012: K.FIX_REQUEST,
    132001: K.FIX_REQUEST,
    132005: K.FIX_REQUEST,
    132007: K.FIX_REQUEST,
    132015: K.FIX_REQUEST,
    132016: K.FIX_REQUEST,
    131063: K.FIX_REQUEST,
    131037: K.SENDER_BLOCKED,
}


@pytest.mark.parametrize(("code", "expected"), sorted(RESEARCH_CODES.items()))
def test_every_research_code_is_classified(code: int, expected: OutcomeKind) -> None:
    assert classify_error_code(code).kind is expected


@pytest.mark.parametrize("code", [200, 250, 299])
def test_permission_range_is_credentials_invalid(code: int) -> None:
    assert classify_error_code(code).kind is K.CREDENTIALS_INVALID


def test_the_code_table_lists_exactly_the_research_codes() -> None:
    assert set(ERROR_RULES) == set(RESEARCH_CODES)


@pytest.mark.parametrize("code", [None, 999999, 131999, 300])
def test_unknown_codes_fall_to_bounded_retry_later(code: int | None) -> None:
    verdict = classify_error_code(code, attempt=50)
    assert verdict.kind is K.RETRY_LATER
    assert verdict.retry_after == RETRY_LATER_CAP_SECONDS


def test_only_131050_is_an_opt_out() -> None:
    opt_outs = {code for code in RESEARCH_CODES if classify_error_code(code).opt_out}
    assert opt_outs == {131050}


def test_pair_rate_wait_is_four_to_the_attempt_and_capped() -> None:
    assert [classify_error_code(131056, attempt=n).retry_after for n in range(4)] == [
        1.0,
        4.0,
        16.0,
        64.0,
    ]
    assert pair_rate_backoff(100) == PAIR_RATE_CAP_SECONDS


def test_engagement_limit_waits_a_day() -> None:
    assert classify_error_code(131049, attempt=3).retry_after == ENGAGEMENT_WAIT_SECONDS


def test_retry_later_backoff_grows_and_is_bounded() -> None:
    waits = [retry_later_backoff(n) for n in range(12)]
    assert waits == sorted(waits)
    assert waits[0] > 0
    assert max(waits) == RETRY_LATER_CAP_SECONDS
    assert classify_error_code(131057).retry_after >= 120.0


def test_rate_limited_has_a_retry_after() -> None:
    assert classify_error_code(130429).retry_after == 1.0
    assert classify_error_code(80007).retry_after == 60.0


def test_permanent_and_blocking_kinds_carry_no_retry_after() -> None:
    for code in (131026, 131048, 190, 132001):
        assert classify_error_code(code).retry_after is None


def test_classification_ignores_http_status_and_text() -> None:
    """A BSP re-wrapping 131056 as HTTP 429, or a misleading title, changes nothing."""
    error = ProviderError(code=131056, title="(#4) Application request limit", http_status=429)
    outcome = Outcome.from_error("m-1", error, attempt=1)
    assert outcome.kind is K.RECIPIENT_WAIT
    assert outcome.retry_after == 4.0
    assert outcome.error is error


def test_transport_failures_split_on_whether_the_request_left() -> None:
    assert Outcome.transport_failure("m", request_sent=True, attempt=0, note="").kind is K.AMBIGUOUS
    before = Outcome.transport_failure("m", request_sent=False, attempt=0, note="")
    assert before.kind is K.RETRY_LATER
    assert before.retry_after is not None


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"text": "hi", "template_name": "t", "template_language": "en"},
        {"template_name": "t"},
        {"text": "hi", "attempt": -1},
    ],
)
def test_outbound_message_rejects_inconsistent_content(kwargs: dict) -> None:
    with pytest.raises(ValueError, match=r"."):
        OutboundMessage(public_id="m", to="+994501234567", **kwargs)
