"""The ban-risk score is a pure function of recorded signals (issue #21): always within 0..100,
more text diversity never raises it, a bigger audience never lowers it; each reason carries the
change that lowers it."""

from __future__ import annotations

from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st

from messaging.campaigns.risk import RiskSignals, risk_score

signals = st.builds(
    RiskSignals,
    audience=st.integers(min_value=0, max_value=200_000),
    numbers=st.integers(min_value=1, max_value=20),
    provider=st.sampled_from(["cloud_api", "web_gateway", "sandbox"]),
    number_age_days=st.integers(min_value=0, max_value=2000),
    number_history=st.integers(min_value=0, max_value=1_000_000),
    never_messaged_share=st.floats(min_value=0, max_value=1),
    without_consent_share=st.floats(min_value=0, max_value=1),
    variants=st.integers(min_value=1, max_value=10),
    alternatives=st.integers(min_value=0, max_value=10),
    personalised=st.booleans(),
    whatsapp_template=st.booleans(),
    per_minute=st.floats(min_value=0.1, max_value=60_000),
    recent_sent=st.integers(min_value=0, max_value=100_000),
    recent_opted_out=st.integers(min_value=0, max_value=100_000),
    recent_blocked=st.integers(min_value=0, max_value=100_000),
    recent_failed=st.integers(min_value=0, max_value=100_000),
    quality=st.sampled_from(["green", "yellow", "red", "unknown"]),
    warmup_cap=st.one_of(st.none(), st.integers(min_value=1, max_value=5000)),
)


@settings(max_examples=400)
@given(signals)
def test_the_score_is_always_within_0_and_100_and_is_the_sum_of_its_reasons(s) -> None:
    risk = risk_score(s)
    assert 0 <= risk.score <= 100
    assert risk.score == min(100, sum(r.points for r in risk.reasons))
    assert all(r.points > 0 and r.suggestion for r in risk.reasons)


@settings(max_examples=400)
@given(
    signals,
    st.integers(min_value=0, max_value=5),
    st.integers(min_value=0, max_value=5),
    st.booleans(),
)
def test_more_diversity_never_raises_the_score(s, more_variants, more_alts, personalise) -> None:
    varied = replace(
        s,
        variants=s.variants + more_variants,
        alternatives=s.alternatives + more_alts,
        personalised=s.personalised or personalise,
    )
    assert risk_score(varied).score <= risk_score(s).score


@settings(max_examples=400)
@given(signals, st.integers(min_value=0, max_value=100_000))
def test_a_bigger_audience_never_lowers_the_score(s, extra) -> None:
    bigger = replace(s, audience=s.audience + extra)
    assert risk_score(bigger).score >= risk_score(s).score


def test_a_large_single_text_campaign_from_a_young_web_number_is_high_with_one_click_fixes():
    # given: 500 people, one text, a WhatsApp-Web number connected yesterday, sent fast
    s = RiskSignals(
        audience=500,
        provider="web_gateway",
        number_age_days=1,
        number_history=0,
        never_messaged_share=1.0,
        variants=1,
        per_minute=60,
    )

    # when
    risk = risk_score(s, confirm_at=60)

    # then: high, and the reasons say how to lower it, with the split and the slow-down
    assert risk.level == "high"
    codes = {r.code: r for r in risk.reasons}
    assert {"audience_size", "same_text", "pace", "provider", "new_contacts"} <= set(codes)
    assert codes["audience_size"].action == {"kind": "split", "parts": 10, "days": 5}
    assert codes["audience_size"].suggestion == "Split into 10 campaigns of 50 over 5 days."
    assert codes["pace"].action == {"kind": "slow", "preset": "safe"}
    assert codes["same_text"].suggestion.startswith("Add 2 variants")


def test_a_small_varied_slow_campaign_from_a_healthy_cloud_number_is_low() -> None:
    s = RiskSignals(
        audience=80,
        provider="cloud_api",
        variants=3,
        alternatives=2,
        personalised=True,
        per_minute=10,
        quality="green",
        recent_sent=5000,
        recent_opted_out=5,
    )
    risk = risk_score(s)
    assert risk.score == 0
    assert risk.level == "low"
    assert risk.reasons == []


def test_blocks_131048_131049_and_a_red_quality_rating_raise_the_score() -> None:
    calm = RiskSignals(audience=50, recent_sent=1000, variants=3, personalised=True)
    blocked = replace(calm, recent_blocked=30, quality="red")
    risk = risk_score(blocked)
    assert {r.code for r in risk.reasons} == {"blocks", "quality"}
    assert risk.score == 20 + 25
    assert risk_score(calm).score == 0
