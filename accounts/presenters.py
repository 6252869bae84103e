"""Words a business user reads: the activity log in sentences ("Campaign “Spring sale”
launched to 120 recipients"), never in codes (`campaign.launched`, `campaign:<uuid>`).

Each app says how its own records read, in a `<app>/presenters.py` module found at start-up
(`AccountsConfig.ready`, like admin's autodiscover), so accounts imports no app:

- `AUDIT_SENTENCES`: audit action -> a translatable sentence. Its `%(name)s` placeholders are
  filled from the event: `target` (the object's name when it was recorded), `actor`, every key
  of `details`, and `object` (what `details["reference"]` points at, named: see below).
- `REFERENCES` (optional): a reference prefix ("campaign" in "campaign:<uuid>") -> a resolver
  `(workspace, keys) -> {key: "Campaign “Spring sale”"}` that names many objects in one query.
- `AUDIT_VALUES` (optional): audit action -> a function given a page's events of that action
  with their values, which rewrites values for reading in the reader's language (an amount with
  its currency, "25,00 ₼"), with at most one query for the whole page.

`audit_sentences` names a whole page of events with one query per kind of reference, never one
per row; a missing name reads as the reference's kind ("a deleted campaign")."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from importlib import import_module
from typing import TYPE_CHECKING, Any

from django.apps import apps
from django.utils.module_loading import module_has_submodule
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.permissions import Role

if TYPE_CHECKING:
    from accounts.models import AuditEvent, Workspace

MODULE = "presenters"
ROLE_KEYS = ("role", "from", "to")

Resolver = Callable[["Workspace | None", list[str]], dict[str, str]]
ValuesWriter = Callable[[list[tuple["AuditEvent", dict[str, Any]]]], None]

_sentences: dict[str, Any] = {}
_resolvers: dict[str, Resolver] = {}
_writers: dict[str, ValuesWriter] = {}


def discover() -> None:
    """Collect every installed app's `presenters` module (called from `AccountsConfig.ready`)."""
    _sentences.clear()
    _resolvers.clear()
    _writers.clear()
    for config in apps.get_app_configs():
        if not module_has_submodule(config.module, MODULE):
            continue
        module = import_module(f"{config.name}.{MODULE}")
        _sentences.update(getattr(module, "AUDIT_SENTENCES", {}))
        _resolvers.update(getattr(module, "REFERENCES", {}))
        _writers.update(getattr(module, "AUDIT_VALUES", {}))


def audit_actions_known() -> set[str]:
    return set(_sentences)


class _Fill(dict[str, Any]):
    """Placeholders a sentence names that this event lacks read as a dash, never a KeyError."""

    def __missing__(self, key: str) -> str:
        return "—"


def references_named(*, workspace: Workspace | None, references: Iterable[str]) -> dict[str, str]:
    """Name references like "campaign:<uuid>": one resolver call (one query) per prefix."""
    by_prefix: dict[str, list[str]] = defaultdict(list)
    for reference in set(references):
        prefix, sep, key = reference.partition(":")
        if sep and prefix in _resolvers:
            by_prefix[prefix].append(key)
    named: dict[str, str] = {}
    for prefix, keys in by_prefix.items():
        found = _resolvers[prefix](workspace, keys)
        for key in keys:
            named[f"{prefix}:{key}"] = found.get(key) or _("a deleted %(kind)s") % {"kind": prefix}
    return named


def sentence_for(
    sentence: Any, values: Mapping[str, Any], *, fallback: str = "", code: str = ""
) -> str:
    """Fill a translatable sentence with %-placeholders from `values`."""
    if sentence is None:
        # An action no app described yet: still words, with the code kept for support.
        return _("%(what)s (%(code)s)") % {"what": fallback or _("Something changed"), "code": code}
    # Not str() first: a plural sentence (ngettext_lazy keyed by a placeholder) picks its
    # form from the values as it is filled.
    return str(sentence % _Fill(values))


def audit_sentences(
    *, workspace: Workspace | None, events: Iterable[AuditEvent]
) -> list[tuple[AuditEvent, str]]:
    """Each event with its sentence. References in the events' details are named in bulk, and
    each app's `AUDIT_VALUES` writes its actions' values for reading, a page at a time."""
    events = list(events)
    references = [
        str(e.details.get("reference"))
        for e in events
        if isinstance(e.details, dict) and e.details.get("reference")
    ]
    named = references_named(workspace=workspace, references=references)
    filled: list[tuple[AuditEvent, dict[str, Any]]] = []
    for event in events:
        details = event.details if isinstance(event.details, dict) else {}
        values: dict[str, Any] = {k: v for k, v in details.items() if not isinstance(v, dict)}
        for key in ROLE_KEYS:  # a role reads as its label ("Admin"), not its code
            if values.get(key) in Role.values:
                values[key] = Role(values[key]).label
        reference = str(details.get("reference") or "")
        values.update(
            target=event.target_repr or "—",
            actor=event.actor_label or _("iSend"),
            object=named.get(reference) or event.target_repr or _("a record"),
        )
        filled.append((event, values))
    by_action: dict[str, list[tuple[AuditEvent, dict[str, Any]]]] = defaultdict(list)
    for event, values in filled:
        if event.action in _writers:
            by_action[event.action].append((event, values))
    for action, rows in by_action.items():
        _writers[action](rows)
    return [
        (
            event,
            sentence_for(
                _sentences.get(event.action),
                values,
                fallback=event.target_repr,
                code=event.action,
            ),
        )
        for event, values in filled
    ]


# --- how the accounts app's own records read ----------------------------------------------

AUDIT_SENTENCES: dict[str, Any] = {
    "account.session_signed_out": gettext_lazy(
        "%(actor)s signed out a session (%(browser)s on %(os)s)"
    ),
    "account.sessions_signed_out_elsewhere": gettext_lazy(
        "%(actor)s signed out everywhere else (%(count)s sessions)"
    ),
    "account.security_report_opened": gettext_lazy(
        "%(actor)s reported a sign-in as not theirs: every session signed out, password reset"
    ),
    "api_key.created": gettext_lazy("API key “%(target)s” created"),
    "api_key.revoked": gettext_lazy("API key “%(target)s” revoked"),
    "team.invited": gettext_lazy("%(email)s invited to the team (%(role)s)"),
    "team.invitation_revoked": gettext_lazy("Invitation withdrawn: %(target)s"),
    "team.joined": gettext_lazy("%(actor)s joined the team (%(role)s)"),
    "team.removed": gettext_lazy("%(email)s removed from the team"),
    "team.role_changed": gettext_lazy("Role changed from %(from)s to %(to)s: %(target)s"),
    "team.ownership_transferred": gettext_lazy("Ownership handed over to an admin: %(reason)s"),
    "user.signed_up": gettext_lazy("%(target)s signed up"),
    "workspace.created": gettext_lazy("Workspace “%(target)s” created"),
    "workspace.settings_changed": gettext_lazy("Workspace settings changed"),
    "workspace.retention_changed": gettext_lazy(
        "Message texts are now kept %(days_after)s days (before: %(days_before)s days)"
    ),
    "workspace.slug_changed": gettext_lazy("The workspace's web address changed"),
    "workspace.suspended": gettext_lazy("Workspace suspended by iSend: %(reason)s"),
    "workspace.restored": gettext_lazy("Workspace restored by iSend"),
}
