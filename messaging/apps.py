from django.apps import AppConfig


class MessagingConfig(AppConfig):
    name = "messaging"
    verbose_name = "Messaging"

    def ready(self) -> None:
        from accounts.hooks import (
            owner_account_closed,
            owner_account_reopened,
            workspace_restored,
            workspace_suspended,
        )
        from billing.checks import reconciliation_register
        from core.health import register_check
        from messaging.content.signals import whatsapp_template_status_changed
        from messaging.engine.reconcile import credits_reconcile_mismatches
        from messaging.engine.recovery import oldest_due_age_check
        from messaging.engine.signals import inbound_replies_stored

        register_check("oldest_due_message", oldest_due_age_check)
        # `billing_check_ledger` also compares credits spent with messages accepted.
        reconciliation_register("credits_reconcile", credits_reconcile_mismatches)
        # Meta pauses, disables or reinstates a template: its campaigns pause or resume.
        whatsapp_template_status_changed.connect(
            _template_status_changed, dispatch_uid="campaigns-template-status"
        )
        # Staff suspend or restore a workspace: its campaigns pause, or resume.
        workspace_suspended.connect(_workspace_suspended, dispatch_uid="campaigns-suspended")
        workspace_restored.connect(_workspace_restored, dispatch_uid="campaigns-restored")
        # Its owner closes their account, nobody else may act: its campaigns pause, or resume.
        owner_account_closed.connect(_owner_closed, dispatch_uid="campaigns-owner-closed")
        owner_account_reopened.connect(_owner_reopened, dispatch_uid="campaigns-owner-reopened")
        # A STOP-like reply is confirmed to the contact, in their language (when asked for).
        inbound_replies_stored.connect(_replies_stored, dispatch_uid="opt-out-confirmations")


def _replies_stored(sender: object, **kwargs: object) -> None:
    from messaging.campaigns.messages import opt_out_confirmations_enqueue

    opt_out_confirmations_enqueue(
        workspace_id=kwargs["workspace_id"],  # type: ignore[arg-type]
        inbound_ids=kwargs["inbound_ids"],  # type: ignore[arg-type]
    )


def _workspace_suspended(sender: object, **kwargs: object) -> None:
    from messaging.campaigns.services import campaigns_pause_for_suspension

    campaigns_pause_for_suspension(workspace=kwargs["workspace"])  # type: ignore[arg-type]


def _workspace_restored(sender: object, **kwargs: object) -> None:
    from messaging.campaigns.services import campaigns_resume_after_restore

    campaigns_resume_after_restore(workspace=kwargs["workspace"])  # type: ignore[arg-type]


def _owner_closed(sender: object, **kwargs: object) -> None:
    from messaging.campaigns.services import campaigns_pause_for_closed_owner

    campaigns_pause_for_closed_owner(workspace=kwargs["workspace"])  # type: ignore[arg-type]


def _owner_reopened(sender: object, **kwargs: object) -> None:
    from messaging.campaigns.models import Campaign
    from messaging.campaigns.services import campaigns_resume_after_restore

    campaigns_resume_after_restore(
        workspace=kwargs["workspace"],  # type: ignore[arg-type]
        reason=Campaign.PauseReason.OWNER_CLOSED,
    )


def _template_status_changed(sender: object, **kwargs: object) -> None:
    from messaging.campaigns.whatsapp import on_template_status_changed

    on_template_status_changed(
        template=kwargs["template"],  # type: ignore[arg-type]
        old_status=str(kwargs.get("old_status") or ""),
        new_status=str(kwargs.get("new_status") or ""),
        reason=str(kwargs.get("reason") or ""),
    )
