"""Hooks the engine offers to the apps above it (they connect in their AppConfig.ready()), so
the engine never imports them."""

from django.dispatch import Signal

# Sent inside the transaction that stored new inbound replies; kwargs: workspace_id, inbound_ids.
inbound_replies_stored = Signal()
