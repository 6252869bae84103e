"""The message template form: input shape only."""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from core.forms import BootstrapForm
from messaging.content.models import MessageTemplate


class TemplateForm(BootstrapForm):
    name = forms.CharField(label=_("Name"), max_length=120)
    variant_texts = forms.CharField(
        label=_("Message"),
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text=_(
            "Variables: {{first_name}}, {{last_name}}, {{attr.city}} or {{city}}; a fallback: "
            "{{first_name|friend}}; alternatives: {Hi|Hello|Salam}. Separate variants (rotated "
            "across recipients) with a line holding only ---."
        ),
    )
    footer = forms.CharField(label=_("Footer"), max_length=60, required=False)
    media_type = forms.ChoiceField(
        label=_("Media"), choices=MessageTemplate.MediaType.choices, required=False
    )
    media_url = forms.URLField(
        label=_("Media URL (https)"), required=False, max_length=500, assume_scheme="https"
    )
    wa_template_name = forms.CharField(
        label=_("Approved Meta template name (Cloud API numbers)"), required=False
    )
    wa_language = forms.CharField(label=_("Meta template language"), required=False)
    wa_category = forms.ChoiceField(
        label=_("Meta template category"),
        choices=[("", "—"), *MessageTemplate.Category.choices],
        required=False,
    )
    wa_parameters = forms.CharField(
        label=_("Parameters {{1}}, {{2}}, ... (our variables, comma-separated)"),
        required=False,
        help_text=_("For example: first_name|friend, attr.city"),
    )
    wa_status = forms.ChoiceField(
        label=_("Approval status"), choices=MessageTemplate.ApprovalStatus.choices, required=False
    )

    def variants(self) -> list[str]:
        raw = (self.data.get("variant_texts") or "").replace("\r\n", "\n")
        parts = re.split(r"^\s*---\s*$", raw, flags=re.MULTILINE)
        return [part.strip() for part in parts if part.strip()]

    @staticmethod
    def initial_from(template: MessageTemplate) -> dict[str, Any]:
        return {
            "name": template.name,
            "variant_texts": "\n---\n".join(template.variants),
            "footer": template.footer,
            "media_type": template.media_type,
            "media_url": template.media_url,
            "wa_template_name": template.wa_template_name,
            "wa_language": template.wa_language,
            "wa_category": template.wa_category,
            "wa_parameters": ", ".join(template.wa_parameters),
            "wa_status": template.wa_status,
        }
