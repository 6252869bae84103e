"""allauth's forms in the app's words. A module of its own: allauth's forms module imports
`accounts.forms` (the sign-up form class), so a subclass there would be a circular import."""

from __future__ import annotations

from typing import Any

from allauth.account import forms as allauth_forms
from django.utils.translation import gettext_lazy as _


class LoginForm(allauth_forms.LoginForm):
    """The sign-in form, labelled in sentence case as everywhere else in the app."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if "remember" in self.fields:
            self.fields["remember"].label = _("Keep me signed in")
        self.fields["login"].label = _("E-mail")
        self.fields["password"].label = _("Password")
