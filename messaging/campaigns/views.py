"""Campaign pages: list, a short builder, pre-flight, launch, and the live campaign page
(htmx polling) with pause, resume, cancel and "retry failed"."""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from accounts.models import Workspace
from accounts.permissions import Perm, role_has
from accounts.services import WorkspaceSuspended
from accounts.tenancy import WorkspaceRequest, workspace_view
from billing.selectors import credits_moved_by_reference
from billing.services import InsufficientCredits
from core.phones import parse_phone
from messaging.analytics.selectors import (
    campaign_cap_waits,
    campaign_figures,
    campaign_next_send,
    campaign_page_is_live,
)
from messaging.campaigns import services
from messaging.campaigns.models import Campaign, InboundMessage, Message, SendingPolicy
from messaging.campaigns.selectors import (
    campaign_draft_risk,
    warmup_calendar,
    workspace_risk_max,
)
from messaging.campaigns.whatsapp import translations_of
from messaging.contacts.audience import (
    audience_clean,
    audience_counts,
    audience_describe,
    audience_sample,
    audience_upgrade_legacy,
)
from messaging.contacts.models import ContactList, Segment
from messaging.contacts.selectors import contact_attribute_keys
from messaging.content.models import MessageTemplate, WhatsAppTemplate
from messaging.content.template_send import source_of
from messaging.content.whatsapp import TemplateSlot, header_format, template_slots
from messaging.engine.dispatch import send_rate_series
from messaging.engine.pacing import PRESET_LABELS, pacing_clean
from messaging.inbox.selectors import numbers_visible_to
from messaging.numbers.models import Sender


class NumberChoiceField(forms.ModelMultipleChoiceField):
    """Numbers named as people tell them apart: label, phone number and kind."""

    def label_from_instance(self, obj: Sender) -> str:
        name = obj.display_label or obj.get_provider_display()
        return f"{name} · {obj.phone_number}" if obj.phone_number else name


class WhatsAppTemplateChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: WhatsAppTemplate) -> str:
        return f"{obj.name} · {obj.language}"


TEXT_SOURCE = "__text__"


class CampaignForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=150)
    template = forms.ModelChoiceField(
        label=gettext_lazy("Message template (WhatsApp Web and sandbox numbers)"),
        queryset=MessageTemplate.objects.none(),
        required=False,
        empty_label=gettext_lazy("— none: send a WhatsApp template —"),
    )
    whatsapp_template = WhatsAppTemplateChoiceField(
        label=gettext_lazy("WhatsApp template (required on Cloud API numbers)"),
        queryset=WhatsAppTemplate.objects.none(),
        required=False,
        empty_label=gettext_lazy("— none: send the message template —"),
        help_text=gettext_lazy(
            "Only templates Meta approved. Each contact gets the translation in their "
            "language; the others get the default language."
        ),
    )
    senders = NumberChoiceField(
        label=gettext_lazy("Numbers"),
        queryset=Sender.objects.none(),
        widget=forms.CheckboxSelectMultiple(attrs={"class": "form-check-input"}),
        help_text=gettext_lazy("With several numbers, each contact sticks to one of them."),
    )
    contact_list = forms.ModelChoiceField(
        label=gettext_lazy("List"),
        queryset=ContactList.objects.none(),
        required=False,
        empty_label=gettext_lazy("All contacts"),
    )
    segment = forms.ModelChoiceField(
        label=gettext_lazy("Segment"),
        queryset=Segment.objects.none(),
        required=False,
        empty_label=gettext_lazy("No segment"),
        help_text=gettext_lazy("List, segment and tags all apply: a contact must match each."),
    )
    tags_any = forms.CharField(
        label=gettext_lazy("Only contacts with any of these tags (comma-separated)"),
        required=False,
    )
    tags_none = forms.CharField(
        label=gettext_lazy("Leave out contacts with any of these tags (comma-separated)"),
        required=False,
    )
    #: Filters of a draft made through the API that the builder has no field for (a search,
    #: attributes, dates...): carried through an edit unchanged, hidden in the audience part.
    audience_extra = forms.JSONField(required=False, widget=forms.HiddenInput)
    scheduled_at = forms.DateTimeField(
        label=gettext_lazy("Start at (empty: as soon as you launch)"),
        required=False,
        input_formats=["%Y-%m-%dT%H:%M"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        help_text=gettext_lazy("In the workspace's time zone."),
    )
    expires_at = forms.DateTimeField(
        label=gettext_lazy("Drop what is not sent by"),
        required=False,
        input_formats=["%Y-%m-%dT%H:%M"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        help_text=gettext_lazy("Unsent messages expire instead of arriving late (credits return)."),
    )
    window_start = forms.IntegerField(
        label=gettext_lazy("Send only from (hour)"), required=False, min_value=0, max_value=23
    )
    window_end = forms.IntegerField(
        label=gettext_lazy("until (hour)"),
        required=False,
        min_value=1,
        max_value=24,
        help_text=gettext_lazy(
            "In each recipient's time zone (else the workspace's). Empty: any time."
        ),
    )
    window_days = forms.MultipleChoiceField(
        label=gettext_lazy("On days"),
        required=False,
        choices=[
            ("0", gettext_lazy("Mon")),
            ("1", gettext_lazy("Tue")),
            ("2", gettext_lazy("Wed")),
            ("3", gettext_lazy("Thu")),
            ("4", gettext_lazy("Fri")),
            ("5", gettext_lazy("Sat")),
            ("6", gettext_lazy("Sun")),
        ],
        widget=forms.CheckboxSelectMultiple(attrs={"class": "form-check-input"}),
        help_text=gettext_lazy("None ticked: every day."),
    )

    pacing_preset = forms.ChoiceField(
        label=gettext_lazy("Pacing on each number"),
        choices=list(PRESET_LABELS.items()),
        initial="normal",
        required=False,
        help_text=gettext_lazy(
            "Numbers behind WhatsApp Web are safest at a human pace. A number's own limits "
            "always hold, whatever the campaign asks."
        ),
    )
    pace_per_second = forms.FloatField(
        label=gettext_lazy("Custom: messages per second per number"),
        required=False,
        min_value=0.001,
        max_value=1000,
    )
    pace_batch_size = forms.IntegerField(
        label=gettext_lazy("Custom: pause after this many messages"), required=False, min_value=0
    )
    pace_batch_pause_seconds = forms.IntegerField(
        label=gettext_lazy("Custom: pause length (seconds)"),
        required=False,
        min_value=0,
        max_value=86_400,
    )
    pace_jitter_ms = forms.IntegerField(
        label=gettext_lazy("Custom: random extra delay up to (ms)"),
        required=False,
        min_value=0,
        max_value=600_000,
    )

    def __init__(self, *args: object, workspace: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.workspace_zone = zoneinfo.ZoneInfo(workspace.time_zone)  # type: ignore[attr-defined]
        # Every choice is scoped to the workspace: another tenant's id is simply invalid.
        self.fields["template"].queryset = MessageTemplate.objects.for_workspace(workspace)  # type: ignore[attr-defined,arg-type]
        self.fields["whatsapp_template"].queryset = WhatsAppTemplate.objects.for_workspace(  # type: ignore[attr-defined]
            workspace  # type: ignore[arg-type]
        ).filter(status=WhatsAppTemplate.Status.APPROVED)
        self.whatsapp = template_fields_add(self, workspace=workspace)  # type: ignore[arg-type]
        self.fields["senders"].queryset = Sender.objects.for_workspace(workspace).filter(  # type: ignore[attr-defined,arg-type]
            removed_at__isnull=True, status=Sender.Status.ACTIVE
        )
        self.fields["contact_list"].queryset = ContactList.objects.for_workspace(workspace)  # type: ignore[attr-defined,arg-type]
        self.fields["segment"].queryset = Segment.objects.for_workspace(workspace)  # type: ignore[attr-defined,arg-type]
        if not self.is_bound:
            # The only number is the one to send from: ticked, not left for the user to find.
            only = list(self.fields["senders"].queryset[:2])  # type: ignore[attr-defined]
            if len(only) == 1:
                self.initial.setdefault("senders", [only[0].pk])

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("template") and data.get("whatsapp_template"):
            self.add_error(
                "whatsapp_template",
                ValidationError(
                    _("Choose a message template or a WhatsApp template, not both."),
                    code=self.CONTENT_CHOICE,
                ),
            )
        elif not data.get("template") and not data.get("whatsapp_template"):
            self.add_error(
                "template",
                ValidationError(_("Choose what the campaign sends."), code=self.CONTENT_CHOICE),
            )
        for name in ("scheduled_at", "expires_at"):
            if data.get(name):  # typed in the workspace's time zone
                data[name] = data[name].replace(tzinfo=None).replace(tzinfo=self.workspace_zone)
        start, end = data.get("window_start"), data.get("window_end")
        if (start is None) != (end is None):
            self.add_error("window_end", _("Give both hours, or neither."))
        elif start is not None and end is not None and start >= end:
            self.add_error("window_end", _("The window must end after it starts."))
        return data

    def clean_audience_extra(self) -> dict[str, Any]:
        extra = self.cleaned_data.get("audience_extra") or {}
        if not isinstance(extra, dict) or set(extra) & set(FORM_AUDIENCE_KEYS):
            raise ValidationError(_("The hidden audience filters are not valid: reload the page."))
        return extra

    def pacing(self) -> dict[str, object]:
        data = self.cleaned_data
        if data.get("pacing_preset") != "custom":
            return {"preset": data.get("pacing_preset") or "fast"}
        return {
            "preset": "custom",
            "per_second": data.get("pace_per_second"),
            "batch_size": data.get("pace_batch_size") or 0,
            "batch_pause_seconds": data.get("pace_batch_pause_seconds") or 0,
            "jitter_ms": data.get("pace_jitter_ms") or 0,
        }

    def send_window(self) -> dict[str, object]:
        data = self.cleaned_data
        if data.get("window_start") is None:
            return {}
        days = sorted(int(d) for d in data.get("window_days") or [])
        return {"start": data["window_start"], "end": data["window_end"], "days": days}

    #: The code of `clean`'s "choose what the campaign sends" errors: a draft still being
    #: written has a ban-risk score before its content is chosen.
    CONTENT_CHOICE = "content_choice"
    AUDIENCE_FIELDS = ("contact_list", "segment", "tags_any", "tags_none", "audience_extra")
    #: The other fields the live ban-risk score reads (the audience's are above).
    RISK_FIELDS = (
        "senders",
        "template",
        "whatsapp_template",
        "pacing_preset",
        "pace_per_second",
        "pace_batch_size",
        "pace_batch_pause_seconds",
        "pace_jitter_ms",
    )
    #: Rendered by the builder's WhatsApp template part (reloaded when the template changes).
    TEMPLATE_PART_FIELDS = ("template_language", "header_media_file", "header_media_url")

    def main_fields(self) -> list[forms.BoundField]:
        """The builder's fields but the WhatsApp template's part (rendered by its partial)."""
        return [
            self[name]
            for name in self.fields
            if name not in self.TEMPLATE_PART_FIELDS
            and not name.startswith("var_")
            and name != "audience_extra"
        ]

    def template_variables(self) -> dict[str, Any]:
        """The variable mapping from the builder's per-slot source and fallback fields."""
        mapping: dict[str, Any] = {}
        for slot in self.whatsapp.slots:
            source = self.cleaned_data.get(f"var_source__{slot.key}") or ""
            value = self.cleaned_data.get(f"var_value__{slot.key}") or ""
            if source == TEXT_SOURCE:
                mapping[slot.key] = {"text": value}
            elif source:
                mapping[slot.key] = {"field": source, "fallback": value}
        return mapping

    def variable_rows(self) -> list[dict[str, Any]]:
        """(slot, its source field, its fallback field) for the template part."""
        return [
            {
                "slot": slot,
                "source": self[f"var_source__{slot.key}"],
                "value": self[f"var_value__{slot.key}"],
            }
            for slot in self.whatsapp.slots
        ]

    def audience(self) -> dict[str, object]:
        """The builder's choices in the audience contract's names (`messaging.audience`)."""
        return audience_from_choices(self.cleaned_data)


@dataclass
class TemplatePart:
    """What the builder knows of the chosen WhatsApp template: its slots (variables), its
    approved translations and whether its header takes media."""

    template: WhatsAppTemplate | None = None
    slots: list[TemplateSlot] = field(default_factory=list)
    languages: list[str] = field(default_factory=list)
    media_kind: str = ""


def template_fields_add(form: forms.Form, *, workspace: Workspace) -> TemplatePart:
    """Add the chosen WhatsApp template's fields to the builder's form: the default language
    among its approved translations, the header media (file or link) and, for each variable,
    its source (a contact field, an attribute or a fixed text) and the fallback."""
    part = TemplatePart()
    source = form.data if form.is_bound else form.initial
    chosen = str(source.get("whatsapp_template") or "")
    if chosen.isdigit():
        part.template = (
            WhatsAppTemplate.objects.for_workspace(workspace)
            .filter(pk=int(chosen), status=WhatsAppTemplate.Status.APPROVED)
            .first()
        )
    form.fields["template_language"] = forms.ChoiceField(
        label=gettext_lazy("Default language"), required=False, choices=[]
    )
    form.fields["header_media_file"] = forms.FileField(
        label=gettext_lazy("Header file (uploaded to WhatsApp once per number)"), required=False
    )
    form.fields["header_media_url"] = forms.URLField(
        label=gettext_lazy("…or its link"), required=False, max_length=500, assume_scheme="https"
    )
    if part.template is None:
        return part
    template = part.template
    part.slots = [
        s
        for s in template_slots(template.components, template.parameter_format)
        if not s.media_format
    ]
    part.languages = translations_of(template) or [template.language]
    part.media_kind = header_format(template.components).lower()
    if part.media_kind not in ("image", "video", "document"):
        part.media_kind = ""
    form.fields["template_language"].choices = [(code, code) for code in part.languages]  # type: ignore[attr-defined]
    form.fields["template_language"].initial = template.language
    attributes = sorted(contact_attribute_keys(workspace=workspace))
    sources = [
        ("first_name", _("First name")),
        ("last_name", _("Last name")),
        ("full_name", _("Full name")),
        ("phone", _("Phone")),
        ("country", _("Country")),
        ("language", _("Language")),
        *[(f"attributes.{key}", _("Attribute: %(key)s") % {"key": key}) for key in attributes],
        (TEXT_SOURCE, _("Fixed text")),
    ]
    for slot in part.slots:
        # An edited draft's source stays choosable even if no contact has the attribute now.
        kept = str(form.initial.get(f"var_source__{slot.key}") or "")
        extra = [(kept, kept)] if kept and kept not in dict(sources) else []
        form.fields[f"var_source__{slot.key}"] = forms.ChoiceField(
            label=slot.label,
            choices=[*sources, *extra],
            initial="first_name" if slot.component == "body" else TEXT_SOURCE,
        )
        form.fields[f"var_value__{slot.key}"] = forms.CharField(
            label=gettext_lazy("Fallback (or the fixed text)"),
            required=False,
            max_length=1024,
            initial=slot.example if slot.component == "button" else "",
        )
    return part


#: The audience contract's keys the builder has fields for; the others ride in `audience_extra`.
FORM_AUDIENCE_KEYS = ("list_id", "segment_id", "tags_any", "tags_none")


def audience_from_choices(data: dict[str, Any]) -> dict[str, object]:
    audience: dict[str, object] = dict(data.get("audience_extra") or {})
    if data.get("contact_list"):
        audience["list_id"] = str(data["contact_list"].public_id)
    if data.get("segment"):
        audience["segment_id"] = str(data["segment"].public_id)
    for key in ("tags_any", "tags_none"):
        tags = [t.strip() for t in (data.get(key) or "").split(",") if t.strip()]
        if tags:
            audience[key] = tags
    return audience


def _campaign(request: WorkspaceRequest, campaign_id: str) -> Campaign:
    return get_object_or_404(
        Campaign.objects.for_workspace(request.workspace).select_related(
            "template", "whatsapp_template"
        ),
        public_id=campaign_id,
    )


@workspace_view(Perm.VIEW)
def campaign_list(request: WorkspaceRequest) -> HttpResponse:
    qs = Campaign.objects.for_workspace(request.workspace).select_related(
        "template", "whatsapp_template"
    )
    page = Paginator(qs, 25).get_page(request.GET.get("page"))
    return render(
        request,
        "messaging/campaigns/list.html",
        {
            "page": page,
            "can_run": role_has(request.membership.role, Perm.CAMPAIGNS_RUN),
        },
    )


@workspace_view(Perm.CAMPAIGNS_RUN)
def campaign_new(request: WorkspaceRequest) -> HttpResponse:
    workspace = request.workspace
    initial: dict[str, Any] = {}
    # "Create a campaign for this list" (the import report, a list's page) names the list.
    if list_id := request.GET.get("list"):
        try:
            chosen = ContactList.objects.for_workspace(workspace).filter(public_id=list_id).first()
        except ValidationError:  # not a UUID: a hand-edited link
            chosen = None
        if chosen is not None:
            initial["contact_list"] = chosen.pk
    form = CampaignForm(
        request.POST or None, request.FILES or None, workspace=workspace, initial=initial
    )
    if request.method == "POST" and form.is_valid():
        try:
            campaign = services.campaign_create(
                workspace=workspace, actor=request.user, **_builder_settings(form)
            )
            return redirect("messaging_campaigns:detail", workspace.slug, campaign.public_id)
        except ValidationError as exc:
            _form_errors_add(form, exc)
    return render(request, "messaging/campaigns/new.html", {"form": form})


@workspace_view(Perm.CAMPAIGNS_RUN)
def campaign_edit(request: WorkspaceRequest, campaign_id: str) -> HttpResponse:
    """The builder again, filled with a draft's settings; saving rewrites the draft."""
    workspace = request.workspace
    campaign = _campaign(request, campaign_id)
    if campaign.status != Campaign.Status.DRAFT:
        messages.error(
            request,
            _(
                "Only a draft can be edited: this campaign was launched with what it said. "
                "Duplicate it to send a changed copy."
            ),
        )
        return redirect("messaging_campaigns:detail", workspace.slug, campaign.public_id)
    form = CampaignForm(
        request.POST or None,
        request.FILES or None,
        workspace=workspace,
        initial=campaign_form_initial(campaign),
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.campaign_draft_update(
                workspace=workspace,
                campaign=campaign,
                actor=request.user,
                **_builder_settings(form),
            )
            messages.success(
                request, _("Draft “%(name)s” saved.") % {"name": form.cleaned_data["name"]}
            )
            return redirect("messaging_campaigns:detail", workspace.slug, campaign.public_id)
        except ValidationError as exc:
            _form_errors_add(form, exc)
    return render(
        request,
        "messaging/campaigns/new.html",
        {
            "form": form,
            "campaign": campaign,
            "kept_media": _kept_media(campaign, form),
            "audience_extra": _audience_extra_words(campaign),
        },
    )


def _audience_extra_words(campaign: Campaign) -> list[str]:
    """The draft's filters the builder has no field for, in words (they are kept)."""
    audience = audience_upgrade_legacy(campaign.audience or {})
    extra = {k: v for k, v in audience.items() if k not in FORM_AUDIENCE_KEYS}
    if not extra:
        return []
    try:
        cleaned = audience_clean(workspace=campaign.workspace, data=extra)
    except ValidationError:
        return [str(extra)]
    return audience_describe(workspace=campaign.workspace, audience=cleaned)


def _builder_settings(form: CampaignForm) -> dict[str, Any]:
    """The builder's cleaned choices as `campaign_create` / `campaign_draft_update` take them."""
    whatsapp_template = form.cleaned_data.get("whatsapp_template")
    return {
        "name": form.cleaned_data["name"],
        "template": form.cleaned_data.get("template"),
        "whatsapp_template": whatsapp_template,
        "template_variables": form.template_variables() if whatsapp_template else None,
        "template_language": form.cleaned_data.get("template_language") or "",
        "header_media_file": form.cleaned_data.get("header_media_file"),
        "header_media_url": form.cleaned_data.get("header_media_url") or "",
        "senders": list(form.cleaned_data["senders"]),
        "audience": form.audience(),
        "scheduled_at": form.cleaned_data.get("scheduled_at"),
        "expires_at": form.cleaned_data.get("expires_at"),
        "send_window": form.send_window(),
        "pacing": form.pacing(),
    }


def _form_errors_add(form: forms.Form, exc: ValidationError) -> None:
    for name, errors in getattr(exc, "message_dict", {None: exc.messages}).items():
        form.add_error(name if name in form.fields else None, errors)


def _kept_media(campaign: Campaign, form: CampaignForm) -> str:
    """The draft's header file, named on the edit page while its template stays chosen."""
    template = form.whatsapp.template
    if template is None or template.pk != campaign.whatsapp_template_id:
        return ""
    return (campaign.header_media_file.name or "").rsplit("/", 1)[-1]


def campaign_form_initial(campaign: Campaign) -> dict[str, Any]:
    """A draft's settings in the builder's field names (the inverse of `_builder_settings`)."""
    zone = zoneinfo.ZoneInfo(campaign.workspace.time_zone)
    audience = audience_upgrade_legacy(campaign.audience or {})
    initial: dict[str, Any] = {
        "name": campaign.name,
        "template": campaign.template_id,
        "whatsapp_template": campaign.whatsapp_template_id,
        "template_language": campaign.template_language,
        "header_media_url": campaign.header_media_url,
        "senders": list(campaign.senders.values_list("pk", flat=True)),
        "tags_any": ", ".join(audience.get("tags_any") or []),
        "tags_none": ", ".join(audience.get("tags_none") or []),
        "audience_extra": {k: v for k, v in audience.items() if k not in FORM_AUDIENCE_KEYS},
    }
    workspace = campaign.workspace
    if audience.get("list_id"):
        initial["contact_list"] = (
            ContactList.objects.for_workspace(workspace)
            .filter(public_id=audience["list_id"])
            .values_list("pk", flat=True)
            .first()
        )
    if audience.get("segment_id"):
        initial["segment"] = (
            Segment.objects.for_workspace(workspace)
            .filter(public_id=audience["segment_id"])
            .values_list("pk", flat=True)
            .first()
        )
    for name in ("scheduled_at", "expires_at"):
        if when := getattr(campaign, name):
            initial[name] = when.astimezone(zone).replace(tzinfo=None)
    window = campaign.send_window or {}
    if window.get("start") is not None:
        initial["window_start"] = window["start"]
        initial["window_end"] = window["end"]
        initial["window_days"] = [str(d) for d in window.get("days") or []]
    pace = campaign.pacing or {}
    preset = pace.get("preset") or "fast"
    initial["pacing_preset"] = preset
    if preset == "custom":
        initial["pace_per_second"] = pace.get("per_second")
        initial["pace_batch_size"] = pace.get("batch_size")
        initial["pace_batch_pause_seconds"] = pace.get("batch_pause_seconds")
        initial["pace_jitter_ms"] = pace.get("jitter_ms")
    for key in campaign.template_variables or {}:
        source = source_of(campaign.template_variables, key)
        if source is None:
            continue
        if source.field:
            initial[f"var_source__{key}"] = source.field
            initial[f"var_value__{key}"] = source.fallback
        else:
            initial[f"var_source__{key}"] = TEXT_SOURCE
            initial[f"var_value__{key}"] = source.text
    return initial


@workspace_view(Perm.VIEW)
def campaign_template_part(request: WorkspaceRequest) -> HttpResponse:
    """htmx: the chosen WhatsApp template's part of the builder (its variables with their
    sources and fallbacks, the default language, the header media inputs)."""
    form = CampaignForm(request.GET, workspace=request.workspace)
    return render(request, "messaging/campaigns/_template_part.html", {"form": form})


@workspace_view(Perm.VIEW)
def campaign_audience_preview(request: WorkspaceRequest) -> HttpResponse:
    """htmx: who the builder's current audience reaches, counted and sampled by the same
    functions as the pre-flight and fan-out."""
    workspace = request.workspace
    form = CampaignForm(request.GET, workspace=workspace)
    form.is_valid()  # only the audience fields matter here
    counts, sample, error = None, [], ""
    field_errors = [
        str(e) for name in CampaignForm.AUDIENCE_FIELDS for e in form.errors.get(name, [])
    ]
    if field_errors:
        error = " ".join(field_errors)
    else:
        try:
            audience = audience_clean(
                workspace=workspace, data=audience_from_choices(form.cleaned_data)
            )
        except ValidationError as exc:
            error = " ".join(exc.messages)
        else:
            counts = audience_counts(workspace=workspace, audience=audience)
            sample = audience_sample(workspace=workspace, audience=audience, size=5)
    return render(
        request,
        "messaging/_audience.html",
        {"counts": counts, "sample": sample, "error": error},
    )


@workspace_view(Perm.VIEW)
def campaign_risk_preview(request: WorkspaceRequest) -> HttpResponse:
    """htmx: the ban-risk score of the builder's current choices (numbers, audience, what is
    sent, pacing), computed by the same selector as the pre-flight; a choice that is not
    valid yet gets a message saying what to fix instead of a score."""
    workspace = request.workspace
    form = CampaignForm(request.GET, workspace=workspace)
    form.is_valid()  # only the fields the score reads matter here
    # A value that is not valid (another workspace's id, a negative pace) is named; a choice
    # not made yet is not an error here (no number gets its own message below).
    errors = [
        f"{form.fields[name].label}: {' '.join(e.messages)}"
        for name in (*CampaignForm.RISK_FIELDS, *CampaignForm.AUDIENCE_FIELDS)
        for e in form.errors.as_data().get(name, [])
        if e.code not in ("required", CampaignForm.CONTENT_CHOICE)
    ]
    risk, error = None, ""
    senders = list(form.cleaned_data.get("senders") or [])
    if errors:
        error = " ".join(errors)
    elif not senders:
        error = _("Choose at least one number to see the ban-risk score.")
    else:
        try:
            audience = audience_clean(
                workspace=workspace, data=audience_from_choices(form.cleaned_data)
            )
            pacing = pacing_clean(form.pacing())
        except ValidationError as exc:
            error = " ".join(exc.messages)
        else:
            whatsapp_template = form.cleaned_data.get("whatsapp_template")
            risk = campaign_draft_risk(
                workspace=workspace,
                senders=senders,
                audience=audience,
                template=form.cleaned_data.get("template"),
                whatsapp_template=whatsapp_template,
                template_variables=form.template_variables() if whatsapp_template else None,
                pacing=pacing,
            ).as_dict()
    return render(
        request,
        "messaging/campaigns/_risk_live.html",
        {
            "risk": risk,
            "error": error,
            "preflight": {"risk_max": workspace_risk_max(workspace_id=workspace.pk)},
        },
    )


@workspace_view(Perm.VIEW)
def campaign_detail(request: WorkspaceRequest, campaign_id: str) -> HttpResponse:
    campaign = _campaign(request, campaign_id)
    context = _detail_context(request, campaign)
    if context["failure_classes"]:
        context["top_errors"] = _top_errors(campaign)
    if campaign.status == Campaign.Status.DRAFT:
        context["preflight"] = services.campaign_preflight(campaign=campaign)
    return render(request, "messaging/campaigns/detail.html", context)


@workspace_view(Perm.VIEW)
def campaign_progress(request: WorkspaceRequest, campaign_id: str) -> HttpResponse:
    """The live part of the campaign page, polled by htmx."""
    campaign = _campaign(request, campaign_id)
    return render(request, "messaging/campaigns/_progress.html", _detail_context(request, campaign))


CARDS = (
    ("pending", gettext_lazy("Queued")),
    ("accepted", gettext_lazy("Sent")),
    ("delivered", gettext_lazy("Delivered")),
    ("read", gettext_lazy("Read")),
    ("replied", gettext_lazy("Replied")),
    ("failed", gettext_lazy("Failed")),
    ("skipped", gettext_lazy("Skipped")),
    ("opted_out", gettext_lazy("Opted out")),
)
# Shown only when there are some (a cancelled campaign, expired messages): a running campaign's
# row of tiles stays as it was.
CANCELLED_CARD = ("cancelled", gettext_lazy("Cancelled or expired"))


def _cards(totals: dict[str, int]) -> list[tuple[str, object, int]]:
    cards: list[tuple[str, object, int]] = [(key, label, totals[key]) for key, label in CARDS]
    key, label = CANCELLED_CARD
    if totals[key]:
        cards.append((key, label, totals[key]))
    return cards


def _detail_context(request: WorkspaceRequest, campaign: Campaign) -> dict[str, object]:
    """What the live part shows. The top cards, the per-number table and the failure classes
    come from one read of the statistics table (`campaign_figures`), so they always agree
    and refresh together; the credits line comes from the ledger. The part keeps polling
    until late statuses settle (`campaign_page_is_live`), not only until "completed"."""
    started = campaign.status != Campaign.Status.DRAFT
    figures = campaign_figures(campaign=campaign) if started else None
    return {
        "campaign": campaign,
        "figures": figures,
        "cards": _cards(figures.totals) if figures else [],
        "progress": figures.progress(campaign.recipients) if figures else None,
        "failure_classes": figures.failure_classes if figures else [],
        "per_number": figures.per_number if figures else [],
        "credits": credits_moved_by_reference(reference=campaign.credit_reference)
        if started
        else None,
        "cap_waits": campaign_cap_waits(campaign=campaign),
        "next_send": campaign_next_send(campaign=campaign),
        # Warm-up plans spread what is still queued over the next days (issue #21).
        "warmup_calendar": warmup_calendar(
            senders=list(
                campaign.senders.filter(status=Sender.Status.ACTIVE, removed_at__isnull=True)
            ),
            recipients=figures.totals["pending"],
            count_today=True,
        )
        if figures and campaign.status in (Campaign.Status.RUNNING, Campaign.Status.PAUSED)
        else [],
        "live": campaign_page_is_live(campaign=campaign, figures=figures),
        "can_run": role_has(request.membership.role, Perm.CAMPAIGNS_RUN),
    }


def _top_errors(campaign: Campaign) -> list[dict[str, object]]:
    """The error codes behind the failures (the full page only: not polled)."""
    return [
        dict(row)
        for row in Message.objects.filter(campaign=campaign, indexed_status=Message.Status.FAILED)
        .values("error_kind", "error_code", "error_title")
        .annotate(n=Count("id"))
        .order_by("-n")[:20]
    ]


@workspace_view(Perm.VIEW)
def campaign_send_rate(request: WorkspaceRequest, campaign_id: str) -> JsonResponse:
    """Accepted sends per minute over the last hour, for the send-rate chart."""
    campaign = _campaign(request, campaign_id)
    series = send_rate_series(campaign_id=campaign.pk)
    # The minutes as the rest of the page tells time: the workspace's clock, not the browser's.
    zone = zoneinfo.ZoneInfo(request.workspace.time_zone or "UTC")
    return JsonResponse(
        {
            "labels": [minute for minute, _n in series],
            "times": [
                datetime.fromtimestamp(minute, tz=zone).strftime("%H:%M") for minute, _n in series
            ],
            "data": [n for _minute, n in series],
        }
    )


@workspace_view(Perm.VIEW)
def campaign_media(request: WorkspaceRequest, campaign_id: str) -> FileResponse:
    """The campaign's header file as the product keeps it (shown on its page and in the
    messages log; served from our origin, as the CSP allows)."""
    campaign = _campaign(request, campaign_id)
    if not campaign.header_media_file:
        raise Http404
    response = FileResponse(
        campaign.header_media_file.open("rb"),
        content_type=campaign.header_media_type or "application/octet-stream",
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, max-age=3600"
    return response


def _expected_recipients(request: HttpRequest) -> int | None:
    """The recipient count the launch button showed (the user's confirmation)."""
    try:
        return int(request.POST["expected_recipients"])
    except (KeyError, ValueError):
        return None


def _int_field(request: HttpRequest, name: str, default: int) -> int:
    try:
        return int(request.POST.get(name, default))
    except (TypeError, ValueError):
        return default


DONE = {
    "pause": gettext_lazy("Campaign “%(name)s” paused."),
    "resume": gettext_lazy("Campaign “%(name)s” resumed."),
    "cancel": gettext_lazy("Campaign “%(name)s” cancelled; credits for unsent messages are back."),
}


@require_POST
@workspace_view(Perm.CAMPAIGNS_RUN)
def campaign_action(request: WorkspaceRequest, campaign_id: str, action: str) -> HttpResponse:
    campaign = _campaign(request, campaign_id)
    workspace = request.workspace
    handlers = {
        "pause": services.campaign_pause,
        "resume": services.campaign_resume,
        "cancel": services.campaign_cancel,
    }
    try:
        if action == "test":
            services.campaign_send_test(
                workspace=workspace,
                campaign=campaign,
                actor=request.user,
                to=request.POST.get("to", ""),
            )
            messages.success(
                request,
                _("Campaign “%(name)s”: a test is on its way to %(to)s.")
                % {
                    "name": campaign.name,
                    "to": (request.POST.get("to", "") or request.user.phone or "").strip(),
                },
            )
            return redirect("messaging_campaigns:detail", workspace.slug, campaign.public_id)
        if action == "delete":
            services.campaign_draft_delete(
                workspace=workspace, campaign=campaign, actor=request.user
            )
            messages.success(request, _("Draft “%(name)s” deleted.") % {"name": campaign.name})
            return redirect("messaging_campaigns:list", workspace.slug)
        if action == "duplicate":
            copy = services.campaign_duplicate(
                workspace=workspace,
                campaign=campaign,
                actor=request.user,
            )
            messages.success(
                request,
                _("Campaign “%(name)s” copied as “%(copy)s”: check it, then launch it.")
                % {"name": campaign.name, "copy": copy.name},
            )
            return redirect("messaging_campaigns:detail", workspace.slug, copy.public_id)
        if action == "retry":
            n = services.campaign_retry_failed(
                workspace=workspace, campaign=campaign, actor=request.user
            )
            if n:
                messages.success(
                    request,
                    _("Campaign “%(name)s”: %(n)d failed messages queued again.")
                    % {"name": campaign.name, "n": n},
                )
            else:
                messages.info(
                    request,
                    _(
                        "Campaign “%(name)s”: none of its failures can be sent again now. Only "
                        "messages WhatsApp refused for a while are retried; the reason next to "
                        "each failure says what to do."
                    )
                    % {"name": campaign.name},
                )
        elif action == "slow":
            services.campaign_slow_down(workspace=workspace, campaign=campaign, actor=request.user)
            messages.success(
                request,
                _("Campaign “%(name)s” now goes out at the safe pace.") % {"name": campaign.name},
            )
        elif action == "split":
            parts = services.campaign_split(
                workspace=workspace,
                campaign=campaign,
                actor=request.user,
                parts=_int_field(request, "parts", 2),
                days=_int_field(request, "days", 1),
            )
            messages.success(
                request,
                _(
                    "Campaign “%(name)s” split into %(n)d drafts scheduled over the next days: "
                    "launch each one."
                )
                % {"name": campaign.name, "n": len(parts)},
            )
        elif action == "launch":
            services.campaign_launch(
                workspace=workspace,
                campaign=campaign,
                actor=request.user,
                expected_recipients=_expected_recipients(request),
                risk_confirmed=request.POST.get("confirm_risk") == "1",
            )
            if campaign.starts_later:
                when = date_format(
                    timezone.localtime(campaign.scheduled_at), "SHORT_DATETIME_FORMAT"
                )
                messages.success(
                    request,
                    _("Campaign “%(name)s” scheduled (it starts %(when)s).")
                    % {"name": campaign.name, "when": when},
                )
            else:
                messages.success(
                    request,
                    _("Campaign “%(name)s” launched: the messages are being queued.")
                    % {"name": campaign.name},
                )
        elif action in handlers:
            handlers[action](workspace=workspace, campaign=campaign, actor=request.user)
            messages.success(request, str(DONE[action]) % {"name": campaign.name})
        else:
            return HttpResponse(status=404)
    except InsufficientCredits as exc:
        messages.error(
            request,
            _("Not enough credits: %(detail)s. Buy a package, then launch.") % {"detail": exc},
        )
    except (ValidationError, WorkspaceSuspended) as exc:
        messages.error(request, " ".join(getattr(exc, "messages", [str(exc)])))
    return redirect("messaging_campaigns:detail", workspace.slug, campaign.public_id)


PAGE = 50


def _phone_digits(typed: str, default_country: str) -> str:
    """What the log's "phone contains" looks for: a whole number in any shape (050 123 45 67,
    +994 50 ...) as its international digits, else the digits typed. Text without a digit
    (a name) matches nothing, rather than every message."""
    whole = parse_phone(typed, default_country=default_country or None).e164
    return (whole or "").lstrip("+") or "".join(ch for ch in typed if ch.isdigit())


@workspace_view(Perm.VIEW)
def message_log(request: WorkspaceRequest) -> HttpResponse:
    """Every message of the workspace, newest first, filtered by campaign, status or phone.
    Paged by id ("older than"), so no page counts the table."""
    workspace = request.workspace
    qs = Message.objects.filter(workspace=workspace).select_related(
        "campaign", "campaign__template", "sender"
    )
    senders = numbers_visible_to(request.membership)
    if senders is not None:
        # A member restricted to some numbers' conversations: the single messages of the
        # other numbers are their conversations' replies. Campaigns stay workspace-wide.
        qs = qs.filter(Q(campaign__isnull=False) | Q(sender_id__in=senders))
    campaign_id = request.GET.get("campaign", "")
    status = request.GET.get("status", "")
    phone = request.GET.get("phone", "").strip()
    if campaign_id:
        qs = qs.filter(campaign__public_id=campaign_id) if _is_uuid(campaign_id) else qs.none()
    if status in Message.Status.values:
        qs = qs.filter(status=status)
    if phone:
        digits = _phone_digits(phone, workspace.default_country)
        qs = qs.filter(phone__contains=digits) if digits else qs.none()
    before = request.GET.get("before", "")
    if before.isdigit():
        qs = qs.filter(id__lt=int(before))
    rows = list(qs.order_by("-id")[: PAGE + 1])
    return render(
        request,
        "messaging/campaigns/messages.html",
        {
            "rows": rows[:PAGE],
            "older": rows[PAGE - 1].id if len(rows) > PAGE else None,
            "statuses": Message.Status.choices,
            "filters": {"campaign": campaign_id, "status": status, "phone": phone},
            "paged": before.isdigit(),
            "campaigns": Campaign.objects.for_workspace(workspace).values_list("public_id", "name")[
                :200
            ],
        },
    )


@workspace_view(Perm.VIEW)
def inbox(request: WorkspaceRequest) -> HttpResponse:
    """Replies from recipients, newest first; opt-outs are marked."""

    workspace = request.workspace
    qs = InboundMessage.objects.for_workspace(workspace).select_related("campaign", "sender")
    senders = numbers_visible_to(request.membership)
    if senders is not None:  # a member restricted to some numbers' conversations
        qs = qs.filter(sender_id__in=senders)
    before = request.GET.get("before", "")
    if before.isdigit():
        qs = qs.filter(id__lt=int(before))
    rows = list(qs.order_by("-id")[: PAGE + 1])
    return render(
        request,
        "messaging/campaigns/inbox.html",
        {
            "rows": rows[:PAGE],
            "older": rows[PAGE - 1].id if len(rows) > PAGE else None,
        },
    )


def _is_uuid(value: str) -> bool:
    import uuid

    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


class SendingPolicyForm(forms.Form):
    max_risk_score = forms.IntegerField(
        label=gettext_lazy("Block launches with a ban-risk score above"),
        min_value=0,
        max_value=100,
        required=False,
        help_text=gettext_lazy("0 to 100; empty: no limit (a high score still asks to confirm)."),
    )
    frequency_cap_messages = forms.IntegerField(
        label=gettext_lazy("No contact gets more than this many marketing messages"),
        min_value=1,
        max_value=1000,
        required=False,
        help_text=gettext_lazy("Empty: no frequency cap."),
    )
    frequency_cap_days = forms.IntegerField(
        label=gettext_lazy("within this many days"), min_value=1, max_value=365, initial=7
    )


@workspace_view(Perm.SETTINGS_MANAGE)
def sending_safety(request: WorkspaceRequest) -> HttpResponse:
    """The workspace's sending-safety settings: the highest ban-risk score a launch may have,
    and the per-contact frequency cap across campaigns."""
    workspace = request.workspace
    policy = SendingPolicy.objects.for_workspace(workspace).first()
    initial = {
        "max_risk_score": policy.max_risk_score if policy else None,
        "frequency_cap_messages": policy.frequency_cap_messages if policy else None,
        "frequency_cap_days": policy.frequency_cap_days if policy else 7,
    }
    form = SendingPolicyForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.sending_policy_update(
                workspace=workspace, actor=request.user, **form.cleaned_data
            )
        except ValidationError as exc:
            for name, errors in exc.message_dict.items():
                for error in errors:
                    form.add_error(name if name in form.fields else None, error)
        else:
            messages.success(request, _("Sending safety settings saved."))
            return redirect("messaging_campaigns:safety", workspace.slug)
    return render(request, "messaging/campaigns/safety.html", {"form": form})
