from django.apps import AppConfig


class MessagingConfig(AppConfig):
    name = "messaging"
    verbose_name = "Messaging"

    def ready(self) -> None:
        from billing.checks import reconciliation_register
        from core.health import register_check
        from messaging.engine.reconcile import credits_reconcile_mismatches
        from messaging.engine.recovery import oldest_due_age_check

        register_check("oldest_due_message", oldest_due_age_check)
        # `billing_check_ledger` also compares credits spent with messages accepted.
        reconciliation_register("credits_reconcile", credits_reconcile_mismatches)
