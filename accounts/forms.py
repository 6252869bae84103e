from __future__ import annotations

import zoneinfo
from typing import Any

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.urls import reverse_lazy
from django.utils import translation
from django.utils.html import format_html
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from accounts.models import (
    MESSAGE_RETENTION_MAX_DAYS,
    MESSAGE_RETENTION_MIN_DAYS,
    Invitation,
    User,
)
from accounts.permissions import API_SCOPES, Role
from accounts.services import client_ip, user_complete_signup
from accounts.validators import normalize_phone
from core.countries import phone_country_choices
from core.forms import LocalDateTimeInput

#: The zones a person picks from: "Area/City" names and UTC, not the system's aliases and
#: leftovers ("localtime", "posixrules", "Etc/GMT+4", "US/Eastern") that the tz database
#: also lists.
_TIME_ZONE_AREAS = {
    "Africa", "America", "Antarctica", "Arctic", "Asia", "Atlantic", "Australia", "Europe",
    "Indian", "Pacific",
}  # fmt: skip
_TIME_ZONES = sorted(
    zone
    for zone in zoneinfo.available_timezones()
    if zone == "UTC" or zone.split("/", 1)[0] in _TIME_ZONE_AREAS and "/" in zone
)


class SignupExtraForm(forms.Form):
    """The fields django-allauth's sign-up form gains: who the person is, and the two
    acceptances the terms require (18 or older; the current terms and privacy policy).

    Signing up from an invitation (``invitation``, found by `accounts.views.SignupView`) the
    person joins a team: the address is the invited one, there is no company to name (no
    workspace of their own is made) and the phone is optional."""

    first_name = forms.CharField(label=_("First name"), max_length=150)
    last_name = forms.CharField(label=_("Last name"), max_length=150)
    company_name = forms.CharField(label=_("Company"), max_length=200)
    phone = forms.CharField(
        label=_("Phone"),
        max_length=32,
        help_text=_("With the country code, e.g. +994 50 123 45 67"),
    )
    is_adult = forms.BooleanField(
        label=_("I am 18 years of age or older"),
        error_messages={"required": _("You must be 18 or older to use iSend.")},
    )
    accept_terms = forms.BooleanField(
        error_messages={
            "required": _("You must accept the Terms and the Privacy Policy to create an account.")
        },
    )

    def __init__(self, *args: Any, invitation: Invitation | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.invitation = invitation
        if invitation is not None:
            del self.fields["company_name"]
            self.fields["phone"].required = False
            # allauth adds the e-mail field to this form's subclass; it is declared, so here.
            email = self.fields["email"]
            email.initial = invitation.email
            email.widget.attrs["readonly"] = True
            email.help_text = _("The address the invitation was sent to.")
        self.fields["accept_terms"].label = format_html(
            str(
                _(
                    'I accept the <a href="{}" target="_blank">Terms</a> and the '
                    '<a href="{}" target="_blank">Privacy Policy</a>'
                )
            ),
            reverse_lazy("privacy:terms"),
            reverse_lazy("privacy:privacy"),
        )

    field_order = [
        "first_name",
        "last_name",
        "company_name",
        "phone",
        "email",
        "password1",
        "password2",
        "is_adult",
        "accept_terms",
    ]

    def clean_phone(self) -> str:
        raw = self.cleaned_data["phone"]
        if not raw and not self.fields["phone"].required:
            return ""
        return normalize_phone(raw, default_region="AZ")

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        email = cleaned.get("email")
        if self.invitation is not None and email and email.lower() != self.invitation.email.lower():
            self.add_error(
                "email",
                _("This invitation is for %(email)s: sign up with that address.")
                % {"email": self.invitation.email},
            )
        return cleaned

    def signup(self, request: HttpRequest, user: User) -> None:
        user_complete_signup(
            user=user,
            first_name=self.cleaned_data["first_name"],
            last_name=self.cleaned_data["last_name"],
            company_name=self.cleaned_data.get("company_name", ""),
            phone=self.cleaned_data["phone"],
            ip=client_ip(request),
            user_agent=request.META.get("HTTP_USER_AGENT", ""),
            language=translation.get_language() or "",
            invitation=self.invitation,
        )


class ProfileForm(forms.Form):
    first_name = forms.CharField(label=_("First name"), max_length=150)
    last_name = forms.CharField(label=_("Last name"), max_length=150)
    company_name = forms.CharField(label=_("Company"), max_length=200, required=False)
    phone = forms.CharField(label=_("Phone"), max_length=32, required=False)
    language = forms.ChoiceField(
        label=_("Language"),
        choices=[("", _("My browser's language")), *settings.LANGUAGES],
        required=False,
        help_text=_("Pages and the e-mails we send you are written in this language."),
    )

    def clean_phone(self) -> str:
        raw = self.cleaned_data["phone"]
        return normalize_phone(raw, default_region="AZ") if raw else ""


class WorkspaceSettingsForm(forms.Form):
    name = forms.CharField(label=_("Workspace name"), max_length=120)
    slug = forms.CharField(
        label=_("Web address"),
        max_length=60,
        required=False,  # left empty: the address stays as it is
        help_text=_(
            "The part of your workspace's address after /w/. Lowercase Latin letters, digits "
            "and hyphens. Old links keep working for your team."
        ),
    )
    time_zone = forms.ChoiceField(label=_("Time zone"), choices=[(z, z) for z in _TIME_ZONES])
    default_country = forms.ChoiceField(
        label=_("Default country for phone numbers"),
        choices=phone_country_choices,
        help_text=_("Numbers written without a country code are read as this country's."),
    )
    contact_language = forms.ChoiceField(
        label=_("Language for contacts"),
        choices=settings.LANGUAGES,
        required=False,  # left out: stays as it is
        help_text=_(
            "The language of opt-out confirmations and automation replies for contacts who have "
            "no language of their own."
        ),
    )
    opt_out_confirmation = forms.BooleanField(
        label=_("Confirm opt-outs"),
        required=False,
        help_text=_(
            "Answer a contact who replies STOP with one message, in their language: they will "
            "receive nothing more, and how to subscribe again. Each confirmation uses one credit."
        ),
    )


class MessageRetentionForm(forms.Form):
    """The owner's choice of how long message texts are kept (privacy policy §7)."""

    message_retention_days = forms.IntegerField(
        label=_("Keep message texts for (days)"),
        error_messages={
            "invalid": _("Enter a whole number of days."),
            "required": _("Enter a whole number of days."),
        },
    )

    def clean_message_retention_days(self) -> int:
        days = int(self.cleaned_data["message_retention_days"])
        if not MESSAGE_RETENTION_MIN_DAYS <= days <= MESSAGE_RETENTION_MAX_DAYS:
            raise ValidationError(
                _("Choose between %(min)d and %(max)d days: texts are kept %(days)d days now.")
                % {
                    "min": MESSAGE_RETENTION_MIN_DAYS,
                    "max": MESSAGE_RETENTION_MAX_DAYS,
                    "days": self.current_days,
                }
            )
        return days

    def __init__(self, *args: Any, current_days: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.current_days = current_days
        # Filled per request, in the reader's language.
        self.fields["message_retention_days"].help_text = _(
            "Texts of messages sent and replies received are deleted after this many days; "
            "delivery records (who, when, status) stay. Between %(min)d and %(max)d days."
        ) % {"min": MESSAGE_RETENTION_MIN_DAYS, "max": MESSAGE_RETENTION_MAX_DAYS}


class InviteForm(forms.Form):
    email = forms.EmailField(label=_("E-mail"))
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices, initial=Role.MEMBER)


class RoleForm(forms.Form):
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices)


class ApiKeyForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100, help_text=_("e.g. CRM integration"))
    scopes = forms.MultipleChoiceField(
        label=_("Scopes"),
        # format_lazy, not an f-string: the descriptions are translated when the page is
        # rendered, in the reader's language, not once in English when this module loads.
        choices=[(k, format_lazy("{} — {}", k, v)) for k, v in API_SCOPES.items()],
        widget=forms.CheckboxSelectMultiple,
    )
    expires_at = forms.DateTimeField(
        label=_("Expires"),
        required=False,
        widget=LocalDateTimeInput(attrs={"class": "form-control w-auto"}),
        help_text=_("Leave empty for a key that does not expire."),
    )


class SuspendForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), widget=forms.Textarea(attrs={"rows": 3}))

    def clean_reason(self) -> str:
        """Required to suspend; a restore may say why, or not (the admin turns it off)."""
        reason = self.cleaned_data["reason"].strip()
        if not reason and self.fields["reason"].required:
            raise ValidationError(_("Give the reason."))
        return reason
