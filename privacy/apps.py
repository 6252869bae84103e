from django.apps import AppConfig


class PrivacyConfig(AppConfig):
    name = "privacy"
    verbose_name = "Privacy"

    def ready(self) -> None:
        # Each app with personal data has a `privacy.py` door; privacy finds them here rather
        # than importing the apps (see privacy/registry.py).
        from .registry import discover

        discover()
