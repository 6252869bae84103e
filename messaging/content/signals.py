"""Hooks the content wing offers to the rooms above it (campaigns connect in their
AppConfig.ready()), so content never imports campaigns."""

from django.dispatch import Signal

# Sent inside the transaction that changed a WhatsApp template's status (sync, webhook, create,
# delete); kwargs: template (WhatsAppTemplate, already saved), old_status, new_status (str, one
# of WhatsAppTemplate.Status), reason (str: Meta's reason or "").
# Receivers that do slow work should defer it with transaction.on_commit.
whatsapp_template_status_changed = Signal()
