from __future__ import annotations

import re
from typing import Any

from allauth.mfa.models import Authenticator
from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.models import User, Workspace
from privacy.models import PolicyDocument
from privacy.services import policy_notice_is_short, recipient_phone


class DeletionRequestForm(forms.Form):
    email = forms.EmailField(label=_("The e-mail address of your account"))


class ReauthForm(forms.Form):
    """Password re-entry, and a TOTP code when the account has two-factor authentication."""

    password = forms.CharField(label=_("Your password"), widget=forms.PasswordInput)
    code = forms.CharField(label=_("Authenticator code"), required=False, max_length=12)

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user
        self.totp = Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).first()

    @property
    def needs_code(self) -> bool:
        return self.totp is not None

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not self.user.check_password(data.get("password", "")):
            self.add_error("password", _("The password is not correct."))
        if self.totp is not None:
            code = (data.get("code") or "").strip()
            if not code or not self.totp.wrap().validate_code(code):
                self.add_error("code", _("The authenticator code is not correct."))
        return data


class AccountDeleteForm(ReauthForm):
    confirm = forms.BooleanField(
        label=_("I understand my account and my workspaces' data will be deleted.")
    )


class ErasePhoneForm(forms.Form):
    phone = forms.CharField(label=_("Phone number (international form)"), max_length=32)
    confirm = forms.BooleanField(
        label=_("Delete this number's contact and message data and block re-import.")
    )

    def __init__(self, *args: Any, workspace: Workspace, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.workspace = workspace

    def clean_phone(self) -> str:
        # Read as the workspace reads every number: national forms in its default country.
        return recipient_phone(workspace=self.workspace, phone=self.cleaned_data["phone"])


class RecipientEraseAdminForm(forms.Form):
    """Staff enter a number; its data is erased and only its salted hash is kept (on the
    suppression list of the workspace, or of the whole platform)."""

    SCOPES = [("workspace", _("This workspace")), ("platform", _("Whole platform"))]

    phone = forms.CharField(label=_("Phone number (E.164)"), max_length=32)
    scope = forms.ChoiceField(label=_("Scope"), choices=SCOPES)
    workspace = forms.CharField(
        label=_("Workspace"),
        required=False,
        max_length=300,
        help_text=_(
            "Its name, its address name (the part after /w/ in its links) or a link to one of "
            "its pages, as the customer or the request gives it."
        ),
    )
    reason = forms.CharField(label=_("Reason"), max_length=200, required=False)

    def clean_workspace(self) -> Workspace | None:
        """The workspace the staff member named: by address name, link or exact name. Support
        staff cannot browse workspaces in the admin, so they type what the request says."""
        typed = (self.cleaned_data.get("workspace") or "").strip()
        if not typed:
            return None
        if match := re.search(r"/w/([\w-]+)", typed):
            typed = match.group(1)
        by_slug = Workspace.objects.filter(slug=typed.lower()).first()
        if by_slug is not None:
            return by_slug
        named = list(
            Workspace.objects.filter(name__iexact=typed).values_list("slug", flat=True)[:6]
        )
        if len(named) == 1:
            return Workspace.objects.get(slug=named[0])
        if named:
            raise forms.ValidationError(
                _("Several workspaces have this name; give the address name: %(slugs)s.")
                % {"slugs": ", ".join(named[:5])}
            )
        raise forms.ValidationError(_("No workspace has this name or address."))

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        scope, workspace = data.get("scope"), data.get("workspace")
        if scope == "workspace" and workspace is None:
            self.add_error("workspace", _("Choose the workspace."))
        if scope == "platform" and workspace is not None:
            self.add_error("workspace", _("Leave empty for a platform-wide erasure."))
        if data.get("phone") and not self.errors:
            # National forms are read in the workspace's default country (the platform's for
            # a platform-wide erasure).
            try:
                data["phone"] = recipient_phone(workspace=workspace, phone=data["phone"])
            except forms.ValidationError as exc:
                self.add_error("phone", exc)
        return data


class PolicyDocumentAdminForm(forms.ModelForm):
    confirm_short_notice = forms.BooleanField(
        required=False,
        label=_("Confirm short notice"),
        help_text=_(
            "A material change must be announced at least 30 days before it takes effect. "
            "Tick only if the law or an urgent reason requires a shorter notice."
        ),
    )

    class Meta:
        model = PolicyDocument
        fields = [
            "kind",
            "version",
            "title",
            "body",
            "published_at",
            "effective_at",
            "is_material_change",
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        published, effective = data.get("published_at"), data.get("effective_at")
        if published and effective:
            if effective < published:
                self.add_error("effective_at", _("It cannot take effect before publication."))
            probe = PolicyDocument(
                published_at=published,
                effective_at=effective,
                is_material_change=data.get("is_material_change", False),
            )
            if policy_notice_is_short(document=probe) and not data.get("confirm_short_notice"):
                raise forms.ValidationError(
                    _(
                        "This material change takes effect less than 30 days after "
                        "publication. Move the effective date or tick “Confirm short notice”."
                    )
                )
        return data


class RegisterEmailRequestForm(forms.Form):
    email = forms.EmailField(label=_("Sender's e-mail address"))
    notes = forms.CharField(label=_("Notes"), widget=forms.Textarea, required=False)


class RejectForm(forms.Form):
    reason = forms.CharField(label=_("Legal reason for the rejection"), widget=forms.Textarea)
