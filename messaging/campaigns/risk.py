"""The ban-risk score of a launch (issue #21): 0-100 with its reasons, each with the change that
lowers it and, where one click can make that change, the action.

`risk_score(signals)` is a pure function of `RiskSignals` (recorded figures, no ORM, no clock),
so hypothesis can prove its properties (tests/messaging/test_risk.py): the score is always in
0..100, more text diversity never raises it, a bigger audience never lowers it. Gathering the
signals from the database is `messaging.campaigns.risk_signals` (one query per kind of figure,
never one per contact).

Weights follow seed 001 §5 (at most 100 recipients per campaign, varied texts, spaced sends)
and the research file: 131048 (spam rate limit) and 131049 (per-user marketing limit) are the
block signals, a quality drop precedes a restriction, and numbers behind WhatsApp Web are banned
at far lower volumes than Cloud API numbers."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext as _

#: The terms' advice (seed 001 §5.2): at most 100 recipients per campaign on a fragile number.
ADVISED_PER_CAMPAIGN = 100
#: Recipients per number per campaign considered safe, by provider, for a number with history.
SAFE_PER_NUMBER = {"web_gateway": 100, "cloud_api": 1000, "sandbox": 1000}
#: A human-like pace on a WhatsApp-Web number (messages per minute).
SAFE_PER_MINUTE = {"web_gateway": 6.0, "cloud_api": 600.0, "sandbox": 600.0}
SLOW_PRESET_PER_MINUTE = 12.0  # pacing preset "safe": one message every ~5 s


@dataclass(frozen=True)
class RiskSignals:
    """What the score is computed from, as recorded when the pre-flight ran.

    Shares are fractions of the audience (0..1); recent rates are counted over the numbers'
    last 7 days. `per_minute` is the pace one number sends this campaign at."""

    audience: int
    numbers: int = 1
    provider: str = "cloud_api"  # the most fragile provider among the campaign's numbers
    number_age_days: int = 365  # the youngest number's age
    number_history: int = 10_000  # messages the numbers had accepted in the last 30 days
    never_messaged_share: float = 0.0
    without_consent_share: float = 0.0
    variants: int = 1
    alternatives: int = 0  # `{a|b}` groups in the text
    personalised: bool = False  # the text uses contact variables
    whatsapp_template: bool = False  # a Meta-approved template (reviewed by Meta)
    per_minute: float = 60.0
    recent_sent: int = 0
    recent_opted_out: int = 0
    recent_blocked: int = 0  # 131048 / 131049
    recent_failed: int = 0
    quality: str = "unknown"  # green / yellow / red / unknown (the worst number's)
    warmup_cap: int | None = None  # today's warm-up cap of the most limited number


@dataclass
class RiskReason:
    code: str
    points: int
    text: str
    suggestion: str
    action: dict[str, Any] | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "points": self.points,
            "text": self.text,
            "suggestion": self.suggestion,
            "action": self.action,
        }


@dataclass
class Risk:
    score: int
    level: str  # low / medium / high
    reasons: list[RiskReason] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "score": self.score,
            "level": self.level,
            "reasons": [r.as_dict() for r in self.reasons],
        }


def safe_per_number(s: RiskSignals) -> int:
    """Recipients one number may take in one campaign without adding risk: the provider's
    figure, halved for a number younger than two weeks or with little history, and never above
    today's warm-up cap."""
    base = SAFE_PER_NUMBER.get(s.provider, SAFE_PER_NUMBER["cloud_api"])
    if s.number_age_days < 14 or s.number_history < 500:
        base //= 2
    if s.warmup_cap is not None:
        base = min(base, max(s.warmup_cap, 1))
    return max(base, 10)


def _rate_points(events: int, sent: int, *, tolerated: float, full_at: float, most: int) -> int:
    """Points for a recent rate: 0 up to `tolerated`, `most` from `full_at`, linear between."""
    if sent <= 0 or events <= 0:
        return 0
    rate = events / sent
    if rate <= tolerated:
        return 0
    return min(most, math.ceil(most * (rate - tolerated) / (full_at - tolerated)))


def risk_score(s: RiskSignals, *, confirm_at: int = 60) -> Risk:
    """The score and its reasons, largest first. Pure: same signals, same answer."""
    reasons: list[RiskReason] = []
    audience = max(s.audience, 0)
    numbers = max(s.numbers, 1)
    per_number = math.ceil(audience / numbers)
    safe = safe_per_number(s)

    # 1. Audience size against the number's age and history (up to 30).
    if per_number > safe:
        ratio = per_number / safe
        points = min(30, math.ceil(12 * math.log2(ratio)) + 6)
        parts = math.ceil(per_number / safe)
        days = max(1, math.ceil(parts / 2))
        reasons.append(
            RiskReason(
                "audience_size",
                points,
                _(
                    "Each number would message %(n)d people; about %(safe)d is safe for its "
                    "age, history and kind."
                )
                % {"n": per_number, "safe": safe},
                _("Split into %(parts)d campaigns of %(size)d over %(days)d days.")
                % {"parts": parts, "size": math.ceil(audience / parts), "days": days},
                {"kind": "split", "parts": parts, "days": days},
            )
        )
    # 2. Contacts never messaged before (up to 15): strangers block and report most.
    if s.never_messaged_share > 0.2 and audience:
        points = min(15, math.ceil(15 * s.never_messaged_share))
        reasons.append(
            RiskReason(
                "new_contacts",
                points,
                _("%(p)d%% of the recipients were never messaged from this workspace.")
                % {"p": round(100 * s.never_messaged_share)},
                _(
                    "Start with contacts who wrote to you or bought recently; add the others "
                    "over the next campaigns."
                ),
            )
        )
    # 3. Contacts without a consent source (up to 15).
    if s.without_consent_share > 0.1 and audience:
        points = min(15, math.ceil(15 * s.without_consent_share))
        reasons.append(
            RiskReason(
                "no_consent",
                points,
                _("%(p)d%% of the recipients have no recorded consent source.")
                % {"p": round(100 * s.without_consent_share)},
                _(
                    "Send only to contacts who agreed to hear from you, and record where they "
                    "agreed (the consent source)."
                ),
            )
        )
    # 4. Text diversity (up to 15, scaled by the audience: one text to 10 people is fine).
    diversity = max(s.variants, 1) - 1 + max(s.alternatives, 0) + (1 if s.personalised else 0)
    lack = max(0, 15 - 5 * diversity)
    if s.whatsapp_template:
        lack //= 2
    points = math.ceil(lack * min(1.0, audience / 200))
    if points > 0:
        wanted = max(1, 3 - max(s.variants, 1))
        reasons.append(
            RiskReason(
                "same_text",
                points,
                _("Everyone gets the same text: identical messages in bulk look like spam."),
                _("Add %(n)d variants, alternatives such as {Hello|Hi} or the contact's name.")
                % {"n": wanted},
            )
        )
    # 5. Pace (up to 15).
    safe_pace = SAFE_PER_MINUTE.get(s.provider, SAFE_PER_MINUTE["cloud_api"])
    if s.per_minute > safe_pace and audience > 20:
        points = min(15, math.ceil(5 * math.log2(s.per_minute / safe_pace)) + 3)
        slow_to = min(safe_pace, SLOW_PRESET_PER_MINUTE)
        reasons.append(
            RiskReason(
                "pace",
                points,
                _("Each number would send about %(n)d messages a minute.")
                % {"n": round(s.per_minute)},
                _("Slow to %(n)d per minute.") % {"n": round(slow_to)},
                {"kind": "slow", "preset": "safe"},
            )
        )
    # 6. Recent opt-outs, blocks (131048/131049) and failures on these numbers.
    opt = _rate_points(s.recent_opted_out, s.recent_sent, tolerated=0.01, full_at=0.05, most=15)
    if opt:
        reasons.append(
            RiskReason(
                "opt_outs",
                opt,
                _("%(n)d recipients opted out of these numbers' messages in the last 7 days.")
                % {"n": s.recent_opted_out},
                _("Send fewer messages to people who did not ask for them; pause a few days."),
            )
        )
    blocked = _rate_points(s.recent_blocked, s.recent_sent, tolerated=0.002, full_at=0.02, most=20)
    if blocked:
        reasons.append(
            RiskReason(
                "blocks",
                blocked,
                _(
                    "WhatsApp refused %(n)d recent messages as spam or over the per-person "
                    "marketing limit (131048/131049)."
                )
                % {"n": s.recent_blocked},
                _("Wait at least 24 hours and send to fewer, warmer contacts."),
            )
        )
    failed = _rate_points(s.recent_failed, s.recent_sent, tolerated=0.1, full_at=0.4, most=10)
    if failed:
        reasons.append(
            RiskReason(
                "failures",
                failed,
                _("%(n)d of the numbers' recent messages failed.") % {"n": s.recent_failed},
                _("Clean the list: remove numbers that are not on WhatsApp."),
            )
        )
    # 7. Quality rating (Meta's).
    quality_points = {"yellow": 10, "red": 25}.get(s.quality, 0)
    if quality_points:
        reasons.append(
            RiskReason(
                "quality",
                quality_points,
                _("Meta rates a number's quality %(q)s.")
                % {"q": _("medium") if s.quality == "yellow" else _("low")},
                _("Wait until the rating recovers, or send from another number."),
            )
        )
    # 8. The provider: WhatsApp-Web numbers are banned at far lower volumes.
    if s.provider == "web_gateway" and audience:
        points = 10 if audience <= ADVISED_PER_CAMPAIGN else 15
        reasons.append(
            RiskReason(
                "provider",
                points,
                _("WhatsApp Web numbers are far more often banned than Cloud API numbers."),
                _("Use a Cloud API number for bulk sends, or keep campaigns under %(n)d people.")
                % {"n": ADVISED_PER_CAMPAIGN},
            )
        )
    score = max(0, min(100, sum(r.points for r in reasons)))
    reasons.sort(key=lambda r: -r.points)
    level = "high" if score >= confirm_at else "medium" if score >= confirm_at // 2 else "low"
    return Risk(score=score, level=level, reasons=reasons)
