"""The message template form: input shape only."""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from core.forms import BootstrapForm
from messaging.content.models import MessageTemplate, WhatsAppTemplate


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


BUTTON_SLOTS = 6
BUTTON_TYPE_CHOICES = [
    ("", "—"),
    ("QUICK_REPLY", _("Quick reply")),
    ("URL", _("Visit website (URL)")),
    ("PHONE_NUMBER", _("Call phone number")),
    ("COPY_CODE", _("Copy offer code")),
]
HEADER_CHOICES = [
    ("", _("No header")),
    ("TEXT", _("Text")),
    ("IMAGE", _("Image")),
    ("VIDEO", _("Video")),
    ("DOCUMENT", _("Document")),
]


class WhatsAppTemplateForm(BootstrapForm):
    """The WhatsApp template editor: input shape only (Meta's rules are checked by
    `messaging.content.whatsapp.template_validate` in the service)."""

    number = forms.ChoiceField(label=_("Number (its WhatsApp Business Account)"))
    name = forms.CharField(
        label=_("Name"),
        max_length=512,
        help_text=_("Lowercase letters, digits and underscores, e.g. spring_sale."),
    )
    language = forms.CharField(
        label=_("Language"), max_length=16, initial="az", help_text=_("e.g. az, en, ru, en_US")
    )
    category = forms.ChoiceField(
        label=_("Category"), choices=WhatsAppTemplate.Category.choices, initial="MARKETING"
    )
    parameter_format = forms.ChoiceField(
        label=_("Variables"),
        choices=WhatsAppTemplate.ParameterFormat.choices,
        initial=WhatsAppTemplate.ParameterFormat.POSITIONAL,
    )
    header_format = forms.ChoiceField(label=_("Header"), choices=HEADER_CHOICES, required=False)
    header_text = forms.CharField(
        label=_("Header text"),
        required=False,
        max_length=200,
        help_text=_("At most 60 characters."),
    )
    header_example = forms.CharField(
        label=_("Example for the header's variable"), required=False, max_length=200
    )
    header_file = forms.FileField(
        label=_("Example file for a media header (Meta reviews it)"), required=False
    )
    header_handle = forms.CharField(
        label=_("…or the handle of an example already uploaded to Meta"),
        required=False,
        max_length=2000,
    )
    body = forms.CharField(
        label=_("Body"),
        widget=forms.Textarea(attrs={"rows": 5}),
        max_length=4000,
        help_text=_(
            "At most 1024 characters. Variables: {{1}}, {{2}} ... (or {{first_name}} when named); "
            "not at the very start or end, never side by side."
        ),
    )
    body_examples = forms.CharField(
        label=_("Examples for the body's variables"),
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
        help_text=_("One per line, in the order {{1}}, {{2}} ... (named: in order of appearance)."),
    )
    footer = forms.CharField(label=_("Footer"), required=False, max_length=200)

    def __init__(self, *args: Any, numbers: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        number_field = self.fields["number"]
        assert isinstance(number_field, forms.ChoiceField)
        number_field.choices = numbers
        for slot in range(1, BUTTON_SLOTS + 1):
            self.fields[f"button_{slot}_type"] = forms.ChoiceField(
                label=_("Button %(n)d") % {"n": slot}, choices=BUTTON_TYPE_CHOICES, required=False
            )
            self.fields[f"button_{slot}_text"] = forms.CharField(
                label=_("Text"), required=False, max_length=200
            )
            self.fields[f"button_{slot}_value"] = forms.CharField(
                label=_("Web address, phone number or offer code"), required=False, max_length=2000
            )
            self.fields[f"button_{slot}_example"] = forms.CharField(
                label=_("Example of the address's dynamic part {{1}}"),
                required=False,
                max_length=2000,
            )
        self.style_fields()

    def button_rows(self) -> list[list[forms.BoundField]]:
        return [
            [self[f"button_{slot}_{part}"] for part in ("type", "text", "value", "example")]
            for slot in range(1, BUTTON_SLOTS + 1)
        ]

    def buttons(self) -> list[dict[str, str]]:
        data = self.cleaned_data
        rows = []
        for slot in range(1, BUTTON_SLOTS + 1):
            kind = data.get(f"button_{slot}_type") or ""
            if not kind:
                continue
            value = (data.get(f"button_{slot}_value") or "").strip()
            rows.append(
                {
                    "type": kind,
                    "text": (data.get(f"button_{slot}_text") or "").strip(),
                    "url": value,
                    "phone_number": value,
                    "code": value,
                    "url_example": (data.get(f"button_{slot}_example") or "").strip(),
                }
            )
        return rows

    def body_example_values(self) -> list[str]:
        raw = (self.cleaned_data.get("body_examples") or "").replace("\r\n", "\n")
        return [line.strip() for line in raw.split("\n") if line.strip()]
