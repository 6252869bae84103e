"""Hooks the base app offers to the apps above it (they connect in their AppConfig.ready()),
so accounts never imports them."""

from django.dispatch import Signal

# Sent inside the sign-up transaction once the user confirmed the policies and their age;
# kwargs: user, ip, user_agent. Privacy records the consents (with versions, time and IP).
signup_completed = Signal()

# Sent inside the transaction that suspends or restores a workspace; kwargs: workspace.
# Messaging pauses the workspace's running campaigns (and resumes the ones it paused).
workspace_suspended = Signal()
workspace_restored = Signal()

# Sent inside the transaction that switches off (deactivates, or schedules the deletion of)
# an account, once per workspace the person owns with no other owner or admin left to act
# for it, and again when the account is reactivated; kwargs: workspace. Messaging pauses the
# workspace's campaigns (and resumes the ones it paused): nobody is left who could stop them.
owner_account_closed = Signal()
owner_account_reopened = Signal()
