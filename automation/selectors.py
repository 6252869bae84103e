"""Reads of the automation app shared by views, the API and services."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from django.db.models import Q, QuerySet
from django.http import Http404

from accounts.models import Workspace
from automation.matching import text_matches
from automation.models import AutomationRule, AutomationRun
from messaging.engine import keywords
from messaging.numbers.models import Sender


def get_rule_for_workspace(*, workspace: Workspace, rule_id: uuid.UUID | str) -> AutomationRule:
    """One 404 for "missing" and "another workspace's": the filter is in the query."""
    try:
        return AutomationRule.objects.for_workspace(workspace).get(public_id=rule_id)
    except (AutomationRule.DoesNotExist, ValueError, TypeError) as exc:
        raise Http404 from exc


def rules_of_workspace(*, workspace: Workspace) -> QuerySet[AutomationRule]:
    return (
        AutomationRule.objects.for_workspace(workspace)
        .select_related("sender", "reply_template", "contact_list")
        .order_by("-priority", "created_at", "id")
    )


def rules_for_sender(*, workspace: Workspace, sender_id: int | None) -> list[AutomationRule]:
    """Active rules that apply to messages received on `sender_id` (or on any number when
    None), in the order they are checked."""
    queryset = rules_of_workspace(workspace=workspace).filter(active=True)
    if sender_id is not None:
        queryset = queryset.filter(Q(sender__isnull=True) | Q(sender_id=sender_id))
    return list(queryset)


def rule_matches(rule: AutomationRule, text: str) -> bool:
    return text_matches(
        match_kind=rule.match_kind, keywords=rule.keywords, pattern=rule.pattern, text=text
    )


def rules_matching(*, rules: list[AutomationRule], texts: list[str]) -> list[AutomationRule]:
    """The rules that fire for a message, in order: every match up to and including the first
    one whose `stop_after_match` is on."""
    fired: list[AutomationRule] = []
    for rule in rules:
        if any(rule_matches(rule, text) for text in texts if text):
            fired.append(rule)
            if rule.stop_after_match:
                break
    return fired


@dataclass(frozen=True)
class RuleTestResult:
    text: str
    is_opt_out: bool
    rules: list[AutomationRule]


def rule_test_text(
    *, workspace: Workspace, text: str, sender: Sender | None = None
) -> RuleTestResult:
    """What would happen to an inbound `text` (the dashboard's "test a message" box) received
    on `sender` (on any number: every active rule is considered). An opt-out keyword wins: no
    rule fires."""
    if sender is not None:
        assert sender.workspace_id == workspace.pk
    rules = rules_for_sender(workspace=workspace, sender_id=sender.pk if sender else None)
    opt_out = keywords.is_opt_out(text)
    matched = [] if opt_out else rules_matching(rules=rules, texts=[text])
    return RuleTestResult(text=text, is_opt_out=opt_out, rules=matched)


def runs_of_rule(
    *, workspace: Workspace, rule: AutomationRule, senders: list[int] | None = None
) -> QuerySet[AutomationRun]:
    """The rule's runs, newest first; `senders`: only those on these numbers (the reply each
    run quotes is a conversation's line, hidden from a member restricted to other numbers)."""
    assert rule.workspace_id == workspace.pk
    qs = AutomationRun.objects.for_workspace(workspace).filter(rule=rule)
    if senders is not None:
        qs = qs.filter(inbound__sender_id__in=senders)
    return qs.select_related("inbound", "contact", "reply_message").order_by("-created_at", "-id")


def live_senders_of_workspace(*, workspace: Workspace) -> QuerySet[Sender]:
    return Sender.objects.for_workspace(workspace).filter(removed_at__isnull=True)
