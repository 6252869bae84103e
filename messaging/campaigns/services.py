"""Campaigns as users drive them: create, pre-flight, launch, pause, resume, cancel, retry the
failed. The engine (messaging/engine) does the sending."""

from __future__ import annotations

import logging
import math
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any, Required, TypedDict, Unpack

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from accounts.models import User, Workspace
from accounts.services import WorkspaceSuspended, audit_record, workspace_ensure_can_send
from billing import services as billing
from core.events import campaign_event, events_publish
from core.phones import PhoneError, normalize_phone
from core.text import name_clean
from messaging.campaigns.messages import message_send
from messaging.campaigns.models import Campaign, Message, SendingPolicy
from messaging.campaigns.selectors import campaign_risk, warmup_calendar, workspace_risk_max
from messaging.campaigns.whatsapp import (
    WhatsAppContent,
    cloud_numbers,
    launch_blockers,
    media_file_name,
    template_test_fill,
    waba_warnings,
    whatsapp_content_clean,
    whatsapp_preflight,
)
from messaging.contacts.audience import (
    AUDIENCE_KEYS,
    audience_clean,
    audience_counts,
    audience_describe,
    audience_recipients,
    audience_sample,
    audience_upgrade_legacy,
)
from messaging.contacts.models import Contact
from messaging.content.models import MessageTemplate, WhatsAppTemplate
from messaging.content.rendering import (
    TemplateError,
    contact_values,
    contact_values_of,
    render_message,
)
from messaging.engine.caps import cap_day, cap_used, effective_daily_cap
from messaging.engine.fanout import (
    campaign_audience,
    campaign_audience_counts,
    live_senders,
    reassign_queued,
)
from messaging.engine.frequency import frequency_capped_count, within_frequency_cap
from messaging.engine.kick import (
    campaigns_pause_signal,
    campaigns_resume_signal,
    dispatch_kick,
)
from messaging.engine.pacing import pacing_clean, respace_queued, seconds_for
from messaging.engine.reactions import campaigns_pause, campaigns_refresh
from messaging.engine.tasks import campaign_fanout_task
from messaging.engine.windows import window_clean, window_share
from messaging.numbers.health import tier_warnings
from messaging.numbers.models import Sender

logger = logging.getLogger(__name__)

WEB_GATEWAY_ADVISED_MAX = 100  # the terms' advice for numbers behind WhatsApp Web


def _check_same_workspace(workspace: Workspace, *objects: Any) -> None:
    for obj in objects:
        if obj is not None and obj.workspace_id != workspace.pk:
            raise ValidationError(_("That object belongs to another workspace."))


#: How far ahead a campaign may be scheduled (or expire): a year covers any real plan, and a
#: date like 9999-12-31 cannot be shown in a time zone east of UTC.
SCHEDULE_HORIZON = timedelta(days=366)
#: A start a few minutes past is the one the person chose while filling the form: kept (the
#: campaign starts at launch). One from yesterday or 2000 is a mistake.
SCHEDULE_PAST_SLACK = timedelta(minutes=15)


class DraftSettings(TypedDict, total=False):
    """What a draft says, as `campaign_create` and `campaign_draft_update` take it. `audience`
    follows the audience contract (`messaging.audience`); the message is our `template` (free
    text: WhatsApp-Web and sandbox numbers) or a Meta `whatsapp_template` with its variables,
    header media and default language (required on Cloud API numbers)."""

    name: Required[str]
    senders: Required[list[Sender]]
    audience: Required[dict[str, Any]]
    template: MessageTemplate | None
    scheduled_at: datetime | None
    expires_at: datetime | None
    send_window: dict[str, Any] | None
    pacing: dict[str, Any] | None
    whatsapp_template: WhatsAppTemplate | None
    template_variables: dict[str, Any] | None
    template_language: str
    header_media_file: UploadedFile | None
    header_media_url: str


@dataclass
class _DraftContent:
    """A draft's settings once checked: what `campaign_create` stores and
    `campaign_draft_update` rewrites."""

    name: str
    template: MessageTemplate | None
    audience: dict[str, Any]
    scheduled_at: datetime | None
    expires_at: datetime | None
    send_window: dict[str, Any]
    pacing: dict[str, Any]
    whatsapp: WhatsAppContent | None


def _draft_clean(
    *, workspace: Workspace, settings: DraftSettings, kept_media_type: str = ""
) -> _DraftContent:
    """Every check a draft's settings pass, on creation and on each edit alike; nothing is
    stored. A wrong audience is a ValidationError keyed `audience` with the field errors; the
    WhatsApp template's choice is checked by `whatsapp_content_clean`. `kept_media_type` is
    the type of a header file the draft already has (an edit that uploads none keeps it)."""
    name = name_clean(settings["name"])
    senders = settings["senders"]
    template = settings.get("template")
    whatsapp_template = settings.get("whatsapp_template")
    scheduled_at = settings.get("scheduled_at")
    expires_at = settings.get("expires_at")
    _check_same_workspace(workspace, template, whatsapp_template, *senders)
    if (template is None) == (whatsapp_template is None):
        raise ValidationError(
            {"template": _("Choose a message template or a WhatsApp template (one of them).")}
        )
    content = None
    if whatsapp_template is not None:
        content = whatsapp_content_clean(
            workspace=workspace,
            template=whatsapp_template,
            variables=settings.get("template_variables"),
            language=settings.get("template_language", ""),
            media_file=settings.get("header_media_file"),
            media_url=settings.get("header_media_url", ""),
            kept_media_type=kept_media_type,
        )
    try:
        cleaned_audience = audience_clean(workspace=workspace, data=settings["audience"])
    except ValidationError as exc:
        raise ValidationError({"audience": _audience_messages(exc)}) from exc
    window = window_clean(settings.get("send_window"))
    pace = pacing_clean(settings.get("pacing"))
    if not name.strip():
        raise ValidationError({"name": _("Give the campaign a name.")})
    if not senders:
        raise ValidationError({"senders": _("Choose at least one number.")})
    if cloud_numbers(senders) and whatsapp_template is None:
        raise ValidationError(
            {
                "template": _(
                    "Cloud API numbers can only start conversations with a WhatsApp template "
                    "Meta approved: choose a WhatsApp template, or use WhatsApp Web or sandbox "
                    "numbers for a free-form message."
                )
            }
        )
    if scheduled_at and scheduled_at < timezone.now() - SCHEDULE_PAST_SLACK:
        raise ValidationError(
            {
                "scheduled_at": _(
                    "This start time has passed. Choose a later one, or leave it empty to "
                    "start when the campaign is launched."
                )
            }
        )
    if expires_at and expires_at <= (scheduled_at or timezone.now()):
        raise ValidationError({"expires_at": _("The expiry must be after the start.")})
    horizon = timezone.now() + SCHEDULE_HORIZON
    for field, when in (("scheduled_at", scheduled_at), ("expires_at", expires_at)):
        if when is not None and when > horizon:
            raise ValidationError({field: _("Choose a time within a year from now.")})
    return _DraftContent(
        name=name.strip(),
        template=template,
        audience=cleaned_audience.as_json(),
        scheduled_at=scheduled_at,
        expires_at=expires_at,
        send_window=window,
        pacing=pace,
        whatsapp=content,
    )


def _draft_apply(campaign: Campaign, draft: _DraftContent) -> None:
    """Copy checked settings onto a draft row (saved by the caller)."""
    campaign.name = draft.name
    campaign.template = draft.template
    campaign.audience = draft.audience
    campaign.scheduled_at = draft.scheduled_at
    campaign.expires_at = draft.expires_at
    campaign.send_window = draft.send_window
    campaign.pacing = draft.pacing
    content = draft.whatsapp
    if content is None:
        campaign.whatsapp_template = None
        campaign.template_variables = {}
        campaign.template_language = ""
        campaign.header_media_url = ""
        campaign.header_media_type = ""
        campaign.header_media_file = ""
        return
    campaign.whatsapp_template = content.template
    campaign.template_variables = content.variables
    campaign.template_language = content.language
    campaign.header_media_type = content.media_type
    campaign.header_media_url = content.media_url
    if content.media_file is not None:
        # Kept by the product: uploaded to each Cloud API number once, sent inline to
        # WhatsApp-Web numbers, shown in the messages log. A replaced file stays on disk:
        # a duplicate of the campaign may name it too.
        campaign.header_media_file.save(
            media_file_name(content.media_file.name or "header", content.media_type),
            content.media_file,
            save=False,
        )
    elif content.media_url or not content.media_type:
        campaign.header_media_file = ""


@transaction.atomic
def campaign_create(
    *, workspace: Workspace, actor: User | None, **settings: Unpack[DraftSettings]
) -> Campaign:
    """A draft; a ValidationError keyed by field says what is wrong, and nothing is stored."""
    draft = _draft_clean(workspace=workspace, settings=settings)
    campaign = Campaign(workspace=workspace, created_by=actor)
    _draft_apply(campaign, draft)
    campaign.save()
    campaign.senders.set(settings["senders"])
    audit_record(workspace=workspace, action="campaign.created", actor=actor, target=campaign)
    return campaign


@transaction.atomic
def campaign_draft_update(
    *,
    workspace: Workspace,
    campaign: Campaign,
    actor: User | None,
    **settings: Unpack[DraftSettings],
) -> Campaign:
    """Rewrite a draft's settings, checked as on creation. Only a draft: once launched, the
    messages are queued with what it said (pause, cancel or duplicate it instead). The row is
    locked, so an edit and a launch of the same draft happen one after the other.

    A draft with a header file keeps it when the same WhatsApp template is saved without a
    new file or link."""
    _check_same_workspace(workspace, campaign)
    locked = Campaign.objects.select_for_update().get(pk=campaign.pk)
    if locked.status != Campaign.Status.DRAFT:
        raise ValidationError(
            _(
                "Only a draft can be edited: this campaign was launched with what it said. "
                "Duplicate it to send a changed copy."
            )
        )
    whatsapp_template = settings.get("whatsapp_template")
    keeps_file = (
        whatsapp_template is not None
        and whatsapp_template.pk == locked.whatsapp_template_id
        and bool(locked.header_media_file)
        and settings.get("header_media_file") is None
        and not settings.get("header_media_url")
    )
    draft = _draft_clean(
        workspace=workspace,
        settings=settings,
        kept_media_type=locked.header_media_type if keeps_file else "",
    )
    _draft_apply(locked, draft)
    locked.save()
    locked.senders.set(settings["senders"])
    audit_record(workspace=workspace, action="campaign.edited", actor=actor, target=locked)
    return locked


def _audience_messages(exc: ValidationError) -> list[str]:
    """Field errors of the audience contract as messages that name their key."""
    return [
        message if key not in AUDIENCE_KEYS else f"{key}: {message}"
        for key, messages in exc.message_dict.items()
        for message in messages
    ]


def campaign_preflight(*, campaign: Campaign) -> dict[str, Any]:
    """What launching would do: recipients after exclusions (the count and a sample, by the
    same query fan-out runs), skipped by reason, credits needed against the balance, an
    estimated duration, and warnings. An audience that no longer validates is reported in
    `audience_error` with zero recipients (launch refuses it)."""
    try:
        audience = campaign_audience(campaign)
    except ValidationError as exc:
        return {
            "audience_error": " ".join(_audience_messages(exc)),
            "audience_description": [],
            "total": 0,
            "opted_out": 0,
            "invalid": 0,
            "reachable": 0,
            "sample": [],
            "credits_needed": 0,
            "credits_available": billing.credits_balance(workspace=campaign.workspace).available,
            "enough_credits": False,
            "numbers_active": 0,
            "rate_per_second": 0,
            "estimated_seconds": 0,
            "daily_cap_left": 0,
            "warnings": [],
            "blocking": [],
            "can_launch": False,
            "whatsapp_template": {},
            "skipped_frequency_cap": 0,
            "risk": {"score": 0, "level": "low", "reasons": []},
            "risk_needs_confirmation": False,
            "risk_max": None,
            "warmup_calendar": [],
        }
    counts = asdict(audience_counts(workspace=campaign.workspace, audience=audience))
    # The workspace's frequency cap leaves out contacts that had their fill (fan-out runs the
    # same sub-query, so the figures agree).
    all_recipients = audience_recipients(workspace=campaign.workspace, audience=audience)
    capped = frequency_capped_count(campaign, all_recipients)
    counts["reachable"] -= capped
    counts["skipped_frequency_cap"] = capped
    sample = audience_sample(workspace=campaign.workspace, audience=audience)
    balance = billing.credits_balance(workspace=campaign.workspace)
    senders = list(campaign.senders.filter(removed_at__isnull=True))
    active = [s for s in senders if s.status == Sender.Status.ACTIVE]
    rate = sum(s.throughput_per_second for s in active) or 0
    per_number = counts["reachable"] / max(len(active), 1)
    seconds = 0.0
    cap_left_today = 0
    lefts: dict[int, int] = {}
    now = timezone.now()
    for s in active:
        gap = max(1 / max(s.throughput_per_second, 1), (s.min_interval_ms + s.jitter_ms / 2) / 1000)
        # Today's cap left (counted in the database, as the drainer's limiter rebuilds it):
        # what does not fit today waits for the next days, a full cap a day. A warm-up plan
        # lowers the cap (`effective_daily_cap`).
        today = cap_day(s, now)
        cap = effective_daily_cap(s)
        left = lefts[s.pk] = max(cap - cap_used(sender=s, day=today.day), 0)
        cap_left_today += left
        if per_number <= left:
            seconds = max(seconds, per_number * gap)
        else:
            rest = per_number - left
            days = math.ceil(rest / max(cap, 1))
            last_day = rest - (days - 1) * cap
            until_reset = (today.resumes_at - now).total_seconds()
            seconds = max(seconds, until_reset + (days - 1) * 86_400 + last_day * gap)
    # The campaign's own pace, when slower than its numbers, sets the length.
    seconds = max(seconds, seconds_for(campaign.pacing, per_number))
    # Time outside the send window stretches the run (an average over the week).
    seconds /= window_share(campaign.send_window)
    warnings = []
    if active and cap_left_today < counts["reachable"]:
        warnings.append(
            ngettext(
                "The chosen numbers can send %(left)d more messages today (their daily limits); "
                "the other %(rest)d wait for the next days. Estimated finish: in %(days)d day.",
                "The chosen numbers can send %(left)d more messages today (their daily limits); "
                "the other %(rest)d wait for the next days. Estimated finish: in %(days)d days.",
                math.ceil(seconds / 86_400),
            )
            % {
                "left": cap_left_today,
                "rest": counts["reachable"] - cap_left_today,
                "days": math.ceil(seconds / 86_400),
            }
        )
    if (
        any(s.provider == Sender.Provider.WEB_GATEWAY for s in active)
        and per_number > WEB_GATEWAY_ADVISED_MAX
    ):
        warnings.append(
            _(
                "A WhatsApp Web number would send to about %(n)d people. The terms advise at "
                "most 100 "
                "per campaign for such numbers: split the audience or add template variants."
            )
            % {"n": per_number}
        )
    # Meta's messaging limit (tier) per business account, shared by its numbers.
    tier_notes, tier_days = tier_warnings(
        workspace=campaign.workspace, senders=active, recipients_per_number=per_number
    )
    warnings.extend(tier_notes)
    seconds = max(seconds, (tier_days - 1) * 86_400.0)
    if not active:
        warnings.append(_("None of the chosen numbers is active."))
    blockers = launch_blockers(campaign=campaign, senders=active or senders)
    whatsapp = whatsapp_preflight(campaign=campaign) if campaign.whatsapp_template_id else {}
    warnings += waba_warnings(campaign=campaign, senders=active)
    empty = sum(v["empty"] for v in whatsapp.get("variables", []))
    if empty:
        warnings.append(
            _(
                "Some contacts have no value for a variable that has no fallback (%(n)d in "
                "all): Meta refuses empty parameters, so their messages are skipped. Give a "
                "fallback to reach them."
            )
            % {"n": empty}
        )
    risk = campaign_risk(
        campaign=campaign,
        senders=active or senders,
        recipients=within_frequency_cap(campaign, all_recipients),
    )
    risk_max = _risk_max(campaign.workspace_id)
    if risk_max is not None and risk.score > risk_max:
        blockers = [*blockers, _risk_blocker(risk.score, risk_max)]
    calendar = warmup_calendar(senders=active, recipients=counts["reachable"], today_left=lefts)
    if calendar:
        seconds = max(seconds, (len(calendar) - 1) * 86_400.0)
        warnings.append(
            ngettext(
                "A number is warming up: the campaign goes out over %(days)d day, as the "
                "calendar shows; it continues by itself each day.",
                "A number is warming up: the campaign goes out over %(days)d days, as the "
                "calendar shows; it continues by itself each day.",
                len(calendar),
            )
            % {"days": len(calendar)}
        )
    return {
        **counts,
        "risk": risk.as_dict(),
        "risk_needs_confirmation": risk.level == "high",
        "risk_max": risk_max,
        "warmup_calendar": [
            {"day": row["day"].isoformat(), "sends": row["sends"]} for row in calendar
        ],
        "blocking": blockers,
        "can_launch": not blockers,
        "whatsapp_template": whatsapp,
        "audience_error": "",
        "audience_description": audience_describe(workspace=campaign.workspace, audience=audience),
        "sample": [{"id": str(c.public_id), "phone": c.phone, "name": c.full_name} for c in sample],
        "credits_needed": counts["reachable"],
        "credits_available": balance.available,
        "enough_credits": balance.available >= counts["reachable"],
        "numbers_active": len(active),
        "rate_per_second": rate,
        "estimated_seconds": int(seconds),
        "daily_cap_left": cap_left_today,
        "warnings": warnings,
    }


def _risk_max(workspace_id: int) -> int | None:
    return workspace_risk_max(workspace_id=workspace_id)


def _risk_blocker(score: int, limit: int) -> str:
    return _(
        "The ban-risk score is %(score)d, above the workspace's maximum of %(max)d: apply the "
        "suggested changes (split the audience, slow the pace, add variants) to lower it, or "
        "ask the owner to change the maximum on the sending-safety page."
    ) % {"score": score, "max": limit}


def campaign_launch(
    *,
    workspace: Workspace,
    campaign: Campaign,
    actor: User | None,
    expected_recipients: int | None = None,
    risk_confirmed: bool | None = None,
) -> Campaign:
    """Reserve the credits for every reachable recipient (all or nothing), then fan out in a
    background task. `billing.InsufficientCredits` says "needs N credits, has M".
    `expected_recipients`: the pre-flight count the user confirmed; if the audience no longer
    has that many recipients, nothing is reserved and the user is asked to look again. Fan-out
    then queues at most that many and pauses the campaign if it queued a different number.

    The ban-risk score (`messaging.campaigns.risk`) is checked here: above the workspace's
    maximum (`SendingPolicy.max_risk_score`) nothing launches; at or above
    `RISK_CONFIRM_SCORE` a person must confirm (`risk_confirmed=True`; the dashboard and the
    API pass what the user said; None is a caller with nobody to ask, such as a test of the
    engine). Contacts the frequency cap leaves out are not counted, reserved or queued."""

    _check_same_workspace(workspace, campaign)
    workspace_ensure_can_send(workspace=workspace)
    with transaction.atomic():
        locked = Campaign.objects.select_for_update().get(pk=campaign.pk)
        if locked.status != Campaign.Status.DRAFT:
            raise ValidationError(_("Only a draft can be launched."))
        if not live_senders(locked):
            raise ValidationError(_("None of the campaign's numbers is active."))
        blockers = launch_blockers(
            campaign=locked, senders=list(locked.senders.filter(removed_at__isnull=True))
        )
        if blockers:
            raise ValidationError(blockers)
        try:
            counts = asdict(campaign_audience_counts(campaign=locked))
        except ValidationError as exc:
            raise ValidationError(
                _("The audience is not valid: %(why)s") % {"why": " ".join(_audience_messages(exc))}
            ) from exc
        recipients = within_frequency_cap(
            locked,
            audience_recipients(workspace=workspace, audience=campaign_audience(locked)),
        )
        capped = counts["reachable"] - recipients.count()
        counts["reachable"] -= capped
        if counts["reachable"] == 0:
            raise ValidationError(_("Nobody in this audience can be messaged."))
        active = [
            s
            for s in locked.senders.filter(removed_at__isnull=True)
            if s.status == Sender.Status.ACTIVE
        ]
        risk = campaign_risk(campaign=locked, senders=active, recipients=recipients)
        risk_max = _risk_max(workspace.pk)
        if risk_max is not None and risk.score > risk_max:
            raise ValidationError(_risk_blocker(risk.score, risk_max))
        if risk.level == "high" and risk_confirmed is False:
            raise ValidationError(
                _(
                    "The ban-risk score is %(score)d (high): confirm that you want to launch "
                    "anyway, or apply the suggested changes first."
                )
                % {"score": risk.score}
            )
        if expected_recipients is not None and counts["reachable"] != expected_recipients:
            raise ValidationError(
                ngettext(
                    "The audience changed since you checked it: %(now)d recipient now, "
                    "%(expected)d when you looked. Check the figures, then launch again.",
                    "The audience changed since you checked it: %(now)d recipients now, "
                    "%(expected)d when you looked. Check the figures, then launch again.",
                    counts["reachable"],
                )
                % {"now": counts["reachable"], "expected": expected_recipients}
            )
        billing.credits_reserve(
            workspace=workspace,
            amount=counts["reachable"],
            reference=locked.credit_reference,
            idempotency_key=f"{locked.credit_reference}:launch",
        )
        locked.status = Campaign.Status.LAUNCHING
        locked.recipients = counts["reachable"]
        locked.credits_reserved = counts["reachable"]
        locked.skipped_opted_out = counts["opted_out"]
        locked.skipped_invalid = counts["invalid"]
        locked.skipped_frequency_cap = capped
        locked.risk_score = risk.score
        locked.launched_at = locked.status_changed_at = timezone.now()
        locked.save()
        audit_record(
            workspace=workspace,
            action="campaign.launched",
            actor=actor,
            target=locked,
            details={"recipients": counts["reachable"], "risk_score": risk.score},
        )
        events_publish(
            workspace_id=workspace.pk, events=[campaign_event("campaign.started", locked)]
        )
        transaction.on_commit(lambda: campaign_fanout_task.delay(campaign_id=locked.pk))
    return locked


@transaction.atomic
def campaign_pause(*, workspace: Workspace, campaign: Campaign, actor: User | None) -> Campaign:
    _check_same_workspace(workspace, campaign)
    updated = Campaign.objects.filter(
        pk=campaign.pk, status__in=[Campaign.Status.RUNNING, Campaign.Status.SCHEDULED]
    ).update(
        status=Campaign.Status.PAUSED,
        pause_reason=Campaign.PauseReason.USER,
        status_changed_at=timezone.now(),
    )
    if updated:
        audit_record(workspace=workspace, action="campaign.paused", actor=actor, target=campaign)
        # A batch already claimed for it stops before its next send, not after it.
        transaction.on_commit(lambda: campaigns_pause_signal(campaign_ids=[campaign.pk]))
    campaign.refresh_from_db()
    if updated:
        events_publish(
            workspace_id=workspace.pk, events=[campaign_event("campaign.paused", campaign)]
        )
    return campaign


def campaign_resume(*, workspace: Workspace, campaign: Campaign, actor: User | None) -> Campaign:

    _check_same_workspace(workspace, campaign)
    workspace_ensure_can_send(workspace=workspace)
    with transaction.atomic():
        # Paused before its start: it is scheduled again, and the tick starts it then.
        status = Campaign.Status.SCHEDULED if campaign.starts_later else Campaign.Status.RUNNING
        updated = Campaign.objects.filter(pk=campaign.pk, status=Campaign.Status.PAUSED).update(
            status=status, pause_reason="", status_changed_at=timezone.now()
        )
        if updated:
            audit_record(
                workspace=workspace, action="campaign.resumed", actor=actor, target=campaign
            )
            # Cleared before it commits: the kick below must find nothing that stops it.
            campaigns_resume_signal(campaign_ids=[campaign.pk])
            senders = live_senders(campaign)
            # Messages of numbers that were blocked meanwhile move to the live ones.
            reassign_queued(campaign_id=campaign.pk, to_sender_ids=senders)
            # The pace starts again from now (no burst of everything that fell due meanwhile).
            respace_queued(
                campaign_id=campaign.pk,
                pace=campaign.pacing,
                window=campaign.send_window,
                start=timezone.now(),
            )
            transaction.on_commit(lambda: dispatch_kick(sender_ids=senders))
    campaign.refresh_from_db()
    return campaign


def campaigns_pause_for_suspension(*, workspace: Workspace) -> list[Campaign]:
    """Staff suspended the workspace: its running (or launching) campaigns pause with that
    reason, shown on the campaign page and in the API. Runs inside the suspension's
    transaction. Scheduled campaigns keep their schedule: a launch checks the workspace.
    The engine claims nothing of a suspended workspace anyway; the pause says so to the
    user and keeps what restore resumes to exactly these campaigns (issue #17 F2)."""
    ids = list(
        Campaign.objects.for_workspace(workspace)
        .filter(status__in=[Campaign.Status.RUNNING, Campaign.Status.LAUNCHING])
        .values_list("pk", flat=True)
    )
    return campaigns_pause(campaign_ids=ids, reason=Campaign.PauseReason.WORKSPACE_SUSPENDED)


def campaigns_pause_for_closed_owner(*, workspace: Workspace) -> list[Campaign]:
    """The workspace's owner closed their account and nobody else may act for it: its running,
    launching and scheduled campaigns pause (nobody is left who could stop them, and credits
    would go on being spent for someone who believes their account is gone)."""
    ids = list(
        Campaign.objects.for_workspace(workspace)
        .filter(
            status__in=[
                Campaign.Status.RUNNING,
                Campaign.Status.LAUNCHING,
                Campaign.Status.SCHEDULED,
            ]
        )
        .values_list("pk", flat=True)
    )
    return campaigns_pause(campaign_ids=ids, reason=Campaign.PauseReason.OWNER_CLOSED)


def campaigns_resume_after_restore(
    *, workspace: Workspace, reason: str = Campaign.PauseReason.WORKSPACE_SUSPENDED
) -> None:
    """The workspace is active again (restored by staff, or its owner reopened their
    account): once that commits, the campaigns paused for `reason` resume (a campaign the user
    paused, or paused for another reason, stays paused)."""

    def resume() -> None:
        for campaign in Campaign.objects.for_workspace(workspace).filter(
            status=Campaign.Status.PAUSED, pause_reason=reason
        ):
            try:
                campaign_resume(workspace=workspace, campaign=campaign, actor=None)
            except (ValidationError, WorkspaceSuspended):
                logger.warning(
                    "campaign %s not resumed after its workspace was restored", campaign.pk
                )

    transaction.on_commit(resume)


@transaction.atomic
def campaign_cancel(*, workspace: Workspace, campaign: Campaign, actor: User | None) -> Campaign:
    """Stop for good: queued messages are cancelled and their credits released."""

    _check_same_workspace(workspace, campaign)
    locked = Campaign.objects.select_for_update().get(pk=campaign.pk)
    if locked.status in (
        Campaign.Status.COMPLETED,
        Campaign.Status.CANCELLED,
        Campaign.Status.EXPIRED,
    ):
        return locked
    cancelled = Message.objects.filter(
        campaign=locked, indexed_status=Message.Status.QUEUED
    ).update(status=Message.Status.CANCELLED, status_changed_at=timezone.now())
    locked.status = Campaign.Status.CANCELLED
    locked.pause_reason = ""  # a cancelled campaign is no longer "paused by a user"
    locked.finished_at = locked.status_changed_at = timezone.now()
    locked.save(update_fields=["status", "pause_reason", "finished_at", "status_changed_at"])
    if locked.credits_reserved:
        billing.credits_release(
            workspace=workspace,
            reference=locked.credit_reference,
            amount=cancelled or None,
            idempotency_key=f"{locked.credit_reference}:cancel",
        )
    audit_record(
        workspace=workspace,
        action="campaign.cancelled",
        actor=actor,
        target=locked,
        details={"cancelled_messages": cancelled},
    )
    campaigns_refresh(campaign_ids=[locked.pk])
    return locked


def campaign_retry_failed(*, workspace: Workspace, campaign: Campaign, actor: User | None) -> int:
    """Re-queue only failures that may succeed later (temporary errors), after reserving their
    credits again. Permanent failures (not on WhatsApp, opted out, template errors) stay."""

    _check_same_workspace(workspace, campaign)
    retryable = Message.objects.filter(
        campaign=campaign, indexed_status=Message.Status.FAILED, error_kind="retry_later"
    )
    with transaction.atomic():
        ids = list(retryable.select_for_update().values_list("id", flat=True))
        if not ids:
            return 0
        billing.credits_reserve(
            workspace=workspace,
            amount=len(ids),
            reference=campaign.credit_reference,
            idempotency_key=f"{campaign.credit_reference}:retry:{ids[0]}:{len(ids)}",
        )
        Message.objects.filter(id__in=ids).update(
            status=Message.Status.QUEUED,
            attempts=0,
            next_attempt_at=timezone.now(),
            error_kind="",
            error_code=None,
            error_title="",
            status_changed_at=timezone.now(),
            # A failure after WhatsApp took the message was refunded: it is no longer "sent"
            # (the statistics counted it as credits used while queued again), and a late
            # receipt for the old send must not land on the new one.
            accepted_at=None,
            provider_message_id="",
        )
        Campaign.objects.filter(pk=campaign.pk).update(
            status=Campaign.Status.RUNNING, credits_reserved=F("credits_reserved") + len(ids)
        )
        campaigns_resume_signal(campaign_ids=[campaign.pk])
        # The counters on the row (the campaigns list, the dashboard) must stop counting these
        # as failed now, not when the first of them is sent again.
        campaigns_refresh(campaign_ids=[campaign.pk])
        audit_record(
            workspace=workspace,
            action="campaign.retry_failed",
            actor=actor,
            target=campaign,
            details={"messages": len(ids)},
        )
        transaction.on_commit(lambda: dispatch_kick(sender_ids=live_senders(campaign)))
    return len(ids)


@transaction.atomic
def campaign_draft_delete(*, workspace: Workspace, campaign: Campaign, actor: User | None) -> None:
    """Delete a campaign that was never launched (nothing was queued, reserved or sent for
    it). A launched campaign keeps its record: cancel it instead."""
    _check_same_workspace(workspace, campaign)
    locked = Campaign.objects.select_for_update().get(pk=campaign.pk)
    if locked.status != Campaign.Status.DRAFT:
        raise ValidationError(
            _("Only a draft can be deleted. Cancel a launched campaign instead; its figures stay.")
        )
    audit_record(
        workspace=workspace,
        action="campaign.deleted",
        actor=actor,
        target=locked,
        details={"name": locked.name},
    )
    locked.delete()


def campaign_duplicate(*, workspace: Workspace, campaign: Campaign, actor: User | None) -> Campaign:
    """A new draft with the same template, audience, numbers still usable and send window;
    the schedule and expiry are left for the user to set again (they are usually past). A
    removed or banned number is left out: the copy would only fail on it."""
    _check_same_workspace(workspace, campaign)
    senders = list(
        campaign.senders.filter(removed_at__isnull=True).exclude(status=Sender.Status.BANNED)
    )
    copy = Campaign.objects.create(
        workspace=workspace,
        name=(_("Copy of %(name)s") % {"name": campaign.name})[:150],
        template=campaign.template,
        whatsapp_template=campaign.whatsapp_template,
        template_variables=campaign.template_variables,
        template_language=campaign.template_language,
        header_media_file=campaign.header_media_file.name or "",
        header_media_url=campaign.header_media_url,
        header_media_type=campaign.header_media_type,
        # An audience saved before the contract (`list`, `tags`) is copied in its names.
        audience=audience_upgrade_legacy(campaign.audience),
        send_window=campaign.send_window,
        pacing=campaign.pacing,
        created_by=actor,
    )
    copy.senders.set(senders)
    audit_record(
        workspace=workspace,
        action="campaign.duplicated",
        actor=actor,
        target=copy,
        details={"from": str(campaign.public_id)},
    )
    return copy


@transaction.atomic
def campaign_slow_down(*, workspace: Workspace, campaign: Campaign, actor: User | None) -> Campaign:
    """The risk score's one-click "slow the pace": the draft gets the "safe" pacing preset
    (about one message every 5 s per number, a 10-minute break after every 50)."""
    _check_same_workspace(workspace, campaign)
    locked = Campaign.objects.select_for_update().get(pk=campaign.pk)
    if locked.status != Campaign.Status.DRAFT:
        raise ValidationError(_("Only a draft's pace can be changed here."))
    locked.pacing = pacing_clean({"preset": "safe"})
    locked.save(update_fields=["pacing"])
    audit_record(
        workspace=workspace,
        action="campaign.risk_slowed",
        actor=actor,
        target=locked,
        details={"per_second": locked.pacing.get("per_second")},
    )
    return locked


MAX_SPLIT_PARTS = 50


@transaction.atomic
def campaign_split(
    *, workspace: Workspace, campaign: Campaign, actor: User | None, parts: int, days: int
) -> list[Campaign]:
    """The risk score's one-click "split the audience across days": the draft's recipients (as
    fan-out would pick them, in id order) are cut into `parts` contact lists
    ("<name> - part i of n"); the draft becomes part 1 and n-1 copies are made, each on its own
    list and scheduled over `days` days from the draft's start (about the same number of
    parts a day). Each part is then launched like any draft. Returns the parts in order."""
    from messaging.contacts.services import contact_list_add_contacts, contact_list_create

    _check_same_workspace(workspace, campaign)
    locked = Campaign.objects.select_for_update().get(pk=campaign.pk)
    if locked.status != Campaign.Status.DRAFT:
        raise ValidationError(_("Only a draft can be split."))
    parts = max(2, min(int(parts), MAX_SPLIT_PARTS))
    days = max(1, min(int(days), parts))
    recipients = within_frequency_cap(
        locked, audience_recipients(workspace=workspace, audience=campaign_audience(locked))
    )
    ids = list(recipients.values_list("id", flat=True))
    if len(ids) < parts:
        raise ValidationError(
            _("The audience is too small to split into %(n)d parts.") % {"n": parts}
        )
    size = math.ceil(len(ids) / parts)
    per_day = math.ceil(parts / days)
    start = locked.scheduled_at or timezone.now()
    senders = list(locked.senders.filter(removed_at__isnull=True))
    result: list[Campaign] = []
    base = locked.name
    for index in range(parts):
        chunk = ids[index * size : (index + 1) * size]
        if not chunk:
            break
        label = _("%(name)s - part %(i)d of %(n)d") % {"name": base, "i": index + 1, "n": parts}
        contact_list = contact_list_create(
            workspace=workspace,
            name=(label + " " + timezone.now().strftime("%Y-%m-%d %H:%M:%S"))[:120],
            description=_("Made by splitting campaign “%(name)s” to lower its ban risk.")
            % {"name": base},
        )
        contact_list_add_contacts(
            workspace=workspace,
            contact_list=contact_list,
            contacts=recipients.filter(id__gte=chunk[0], id__lte=chunk[-1]),
        )
        when = start + timedelta(days=index // per_day)
        audience = audience_clean(
            workspace=workspace, data={"list_id": str(contact_list.public_id)}
        ).as_json()
        if index == 0:
            part = locked
            part.name, part.audience = label[:150], audience
            part.scheduled_at = locked.scheduled_at
            part.save(update_fields=["name", "audience", "scheduled_at"])
        else:
            part = Campaign.objects.create(
                workspace=workspace,
                name=label[:150],
                template=locked.template,
                whatsapp_template=locked.whatsapp_template,
                template_variables=locked.template_variables,
                template_language=locked.template_language,
                header_media_file=locked.header_media_file.name or "",
                header_media_url=locked.header_media_url,
                header_media_type=locked.header_media_type,
                audience=audience,
                scheduled_at=when,
                send_window=locked.send_window,
                pacing=locked.pacing,
                created_by=actor,
            )
            part.senders.set(senders)
        result.append(part)
    audit_record(
        workspace=workspace,
        action="campaign.risk_split",
        actor=actor,
        target=locked,
        details={"parts": len(result), "days": days, "recipients": len(ids)},
    )
    return result


@transaction.atomic
def sending_policy_update(
    *,
    workspace: Workspace,
    actor: User | None,
    max_risk_score: int | None,
    frequency_cap_messages: int | None,
    frequency_cap_days: int,
) -> SendingPolicy:
    """The workspace's sending-safety settings (one row per workspace, upserted)."""
    if max_risk_score is not None and not 0 <= max_risk_score <= 100:
        raise ValidationError({"max_risk_score": _("Give a score from 0 to 100.")})
    if frequency_cap_messages is not None and frequency_cap_messages < 1:
        raise ValidationError({"frequency_cap_messages": _("Give at least 1 message.")})
    if not 1 <= frequency_cap_days <= 365:
        raise ValidationError({"frequency_cap_days": _("Give from 1 to 365 days.")})
    policy, _created = SendingPolicy.objects.select_for_update().get_or_create(workspace=workspace)
    policy.max_risk_score = max_risk_score
    policy.frequency_cap_messages = frequency_cap_messages
    policy.frequency_cap_days = frequency_cap_days
    policy.updated_at = timezone.now()
    policy.full_clean(exclude=["workspace"])
    policy.save()
    audit_record(
        workspace=workspace,
        action="workspace.sending_policy_changed",
        actor=actor,
        details={
            "max_risk_score": max_risk_score,
            "frequency_cap_messages": frequency_cap_messages,
            "frequency_cap_days": frequency_cap_days,
        },
    )
    return policy


def campaign_send_test(
    *, workspace: Workspace, campaign: Campaign, actor: User, to: str = ""
) -> Message:
    """Send the campaign's message to one phone before launching (the user's own by default),
    from the campaign's first active number, through the engine like any single message (one
    credit). Rendered for that phone's contact when the workspace has one, else with the
    user's name (each variable's fallback shows where a contact lacks a value).

    A WhatsApp-template campaign sends the same `type: template` message its contacts get:
    the contact's translation, the mapped parameters with their fallbacks, the header media by
    the id uploaded to that number. Refused (ValidationError) while Meta has not approved the
    template or when a variable would be empty."""

    _check_same_workspace(workspace, campaign)
    phone = (to or actor.phone or "").strip()
    if not phone:
        raise ValidationError({"to": _("Give the phone number to send the test to.")})
    numbers = live_senders(campaign)
    if not numbers:
        raise ValidationError(_("None of the campaign's numbers is active."))
    contact = _test_contact(workspace=workspace, phone=phone)
    values = (
        contact_values_of(contact)
        if contact is not None
        else contact_values(first_name=actor.first_name, last_name=actor.last_name, phone=phone)
    )
    senders = list(Sender.objects.filter(pk__in=numbers).order_by("id"))
    filled = None
    if campaign.whatsapp_template is not None:
        filled, text = template_test_fill(
            campaign=campaign,
            values=values,
            language=contact.language if contact is not None else "",
            country=contact.country if contact is not None else "",
        )
        # A number that speaks Meta's dialect sends the template itself; WhatsApp-Web numbers
        # (no Meta templates) send its filled text, as the campaign's sends on them do.
        speaking = [s for s in senders if s.provider != Sender.Provider.WEB_GATEWAY]
        sender = speaking[0] if speaking else senders[0]
        if not speaking:
            filled = None
    else:
        template = campaign.template
        if template is None:
            raise ValidationError({"template": _("Choose the campaign's message first.")})
        try:
            rendered = render_message(
                variants=template.variants, values=values, seed=phone, footer=template.footer
            )
        except TemplateError as exc:
            raise ValidationError({"template": str(exc)}) from exc
        text = rendered.text + (f"\n\n{template.footer}" if template.footer else "")
        sender = senders[0]
    message, _created = message_send(
        workspace=workspace, to=phone, text=text, sender=sender, actor=actor, template=filled
    )
    audit_record(
        workspace=workspace,
        action="campaign.test_sent",
        actor=actor,
        target=campaign,
        details={"message": str(message.public_id)},
    )
    return message


def _test_contact(*, workspace: Workspace, phone: str) -> Contact | None:
    """The workspace's contact with this number, if any (the test is rendered for them)."""
    try:
        e164 = normalize_phone(phone, default_country=workspace.default_country)
    except PhoneError:
        return None  # message_send explains what is wrong with the number
    return Contact.objects.for_workspace(workspace).filter(phone=e164).first()
