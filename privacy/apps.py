from typing import Any

from django.apps import AppConfig


class PrivacyConfig(AppConfig):
    name = "privacy"
    verbose_name = "Privacy"

    def ready(self) -> None:
        # Each app with personal data has a `privacy.py` door; privacy finds them here rather
        # than importing the apps (see privacy/registry.py).
        from accounts.hooks import signup_completed
        from privacy.registry import discover

        discover()
        signup_completed.connect(_record_signup_consents, dispatch_uid="privacy.signup_consents")


def _record_signup_consents(*, user: Any, ip: str | None, user_agent: str, **_kw: Any) -> None:
    from privacy.services import consent_record_signup

    consent_record_signup(user=user, ip=ip, user_agent=user_agent)
