from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts and workspaces"

    def ready(self) -> None:
        from accounts import presenters, signals  # noqa: F401  (signals: login event receivers)

        presenters.discover()  # every app's sentences for its audit actions
