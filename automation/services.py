"""Every write of the automation app: rules (create, change, delete, audited) and applying
them to inbound messages.

Contract shared by all services: keyword-only arguments, `workspace` first, one transaction
each, `ValidationError` with a message per field when input is wrong (and nothing written)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import ApiKey, User, Workspace
from accounts.services import WorkspaceSuspended, audit_record
from automation.matching import keywords_clean, pattern_clean
from automation.models import AutomationRule, AutomationRun, MatchKind, RunOutcome
from automation.selectors import rules_for_sender, rules_matching
from billing.services import InsufficientCredits
from messaging.campaigns.messages import message_send
from messaging.campaigns.models import InboundMessage
from messaging.contacts import services as contact_services
from messaging.contacts.models import Contact, ContactList, CreatedVia
from messaging.content import rendering
from messaging.content import services as template_services
from messaging.content.models import MessageTemplate
from messaging.inbox.models import Conversation
from messaging.numbers.models import Sender

MAX_RULE_TAGS = 20
PRIORITY_RANGE = (-1000, 1000)
RULE_FIELDS = (
    "name",
    "sender",
    "match_kind",
    "keywords",
    "pattern",
    "reply_template",
    "tags",
    "contact_list",
    "priority",
    "active",
    "stop_after_match",
)
INBOUND_CONSENT_SOURCE = "inbound message"


# --- rules -----------------------------------------------------------------------------------


def _same_workspace(workspace: Workspace, obj: Any) -> bool:
    return obj is None or obj.workspace_id == workspace.pk


def rule_clean(
    *, workspace: Workspace, data: Mapping[str, Any], instance: AutomationRule | None = None
) -> dict[str, Any]:
    """Validate rule input (form or API) and return the full set of cleaned values. Keys
    missing from `data` keep the instance's values (PATCH semantics). Related objects must be
    the workspace's own: another workspace's number, template or list is a field error.
    Raises one ValidationError carrying every field's messages."""
    current: dict[str, Any] = {}
    if instance is not None:
        current = {name: getattr(instance, name) for name in RULE_FIELDS}
    merged = {**current, **{k: v for k, v in data.items() if k in RULE_FIELDS}}
    errors: dict[str, list[str]] = {}
    cleaned: dict[str, Any] = {}

    name = " ".join(str(merged.get("name") or "").split())
    if not name:
        errors["name"] = [_("Enter a name.")]
    elif len(name) > 120:
        errors["name"] = [_("At most %(n)d characters.") % {"n": 120}]
    cleaned["name"] = name

    match_kind = merged.get("match_kind") or MatchKind.CONTAINS
    if match_kind not in MatchKind.values:
        errors["match_kind"] = [_("Choose how the message is matched.")]
    cleaned["match_kind"] = match_kind
    cleaned["keywords"], cleaned["pattern"] = [], ""
    try:
        if match_kind == MatchKind.REGEX:
            cleaned["pattern"] = pattern_clean(str(merged.get("pattern") or ""))
        else:
            cleaned["keywords"] = keywords_clean(merged.get("keywords"))
            if not cleaned["keywords"] and match_kind in MatchKind.values:
                errors["keywords"] = [_("Enter at least one keyword.")]
    except ValidationError as exc:
        errors.update(exc.message_dict)

    sender = merged.get("sender")
    if sender is not None and (
        not isinstance(sender, Sender) or not _same_workspace(workspace, sender)
    ):
        errors["sender"] = [_("Choose one of this workspace's numbers.")]
    elif (
        sender is not None
        and sender.removed_at is not None
        and (instance is None or instance.sender_id != sender.pk)
    ):
        errors["sender"] = [_("This number was removed.")]
    cleaned["sender"] = sender

    template = merged.get("reply_template")
    if template is not None and (
        not isinstance(template, MessageTemplate) or not _same_workspace(workspace, template)
    ):
        errors["reply_template"] = [_("Choose one of this workspace's templates.")]
    elif template is not None and not template.variants:
        errors["reply_template"] = [_("This template has no text.")]
    cleaned["reply_template"] = template

    contact_list = merged.get("contact_list")
    if contact_list is not None and (
        not isinstance(contact_list, ContactList) or not _same_workspace(workspace, contact_list)
    ):
        errors["contact_list"] = [_("Choose one of this workspace's lists.")]
    cleaned["contact_list"] = contact_list

    tags = contact_services.clean_tags(merged.get("tags"))
    if len(tags) > MAX_RULE_TAGS:
        errors["tags"] = [_("At most %(n)d tags per rule.") % {"n": MAX_RULE_TAGS}]
    cleaned["tags"] = tags

    try:
        priority = int(merged.get("priority") or 0)
    except (TypeError, ValueError):
        errors["priority"] = [_("Enter a whole number.")]
        priority = 0
    if not PRIORITY_RANGE[0] <= priority <= PRIORITY_RANGE[1]:
        errors["priority"] = [_("Use a number from -1000 to 1000.")]
    cleaned["priority"] = priority

    cleaned["active"] = bool(merged.get("active", True))
    cleaned["stop_after_match"] = bool(merged.get("stop_after_match", True))

    if not (template is not None or tags or contact_list is not None) and not (
        {"reply_template", "tags", "contact_list"} & set(errors)
    ):
        errors["__all__"] = [_("Choose at least one action: a reply, tags or a list.")]
    if errors:
        raise ValidationError(errors)
    return cleaned


@transaction.atomic
def rule_create(
    *,
    workspace: Workspace,
    data: Mapping[str, Any],
    actor: User | None = None,
    api_key: ApiKey | None = None,
) -> AutomationRule:
    """Create a rule; audited as `automation_rule.create`."""
    cleaned = rule_clean(workspace=workspace, data=data)
    rule = AutomationRule(workspace=workspace, **cleaned)
    rule.full_clean(exclude=["workspace", "sender", "reply_template", "contact_list"])
    rule.save()
    audit_record(
        workspace=workspace,
        action="automation_rule.create",
        actor=actor,
        api_key=api_key,
        target=rule,
        details={"match_kind": rule.match_kind},
    )
    return rule


@transaction.atomic
def rule_update(
    *,
    workspace: Workspace,
    rule: AutomationRule,
    data: Mapping[str, Any],
    actor: User | None = None,
    api_key: ApiKey | None = None,
) -> AutomationRule:
    """Change the given fields (the rest keep their values); audited with the changed fields."""
    assert rule.workspace_id == workspace.pk
    cleaned = rule_clean(workspace=workspace, data=data, instance=rule)
    changed = sorted(name for name, value in cleaned.items() if getattr(rule, name) != value)
    for name, value in cleaned.items():
        setattr(rule, name, value)
    rule.updated_at = timezone.now()
    rule.full_clean(exclude=["workspace", "sender", "reply_template", "contact_list"])
    rule.save()
    audit_record(
        workspace=workspace,
        action="automation_rule.update",
        actor=actor,
        api_key=api_key,
        target=rule,
        details={"fields": changed},
    )
    return rule


@transaction.atomic
def rule_delete(
    *,
    workspace: Workspace,
    rule: AutomationRule,
    actor: User | None = None,
    api_key: ApiKey | None = None,
) -> None:
    """Delete a rule and its run history (the replies it queued stay in the outbox)."""
    assert rule.workspace_id == workspace.pk
    audit_record(
        workspace=workspace,
        action="automation_rule.delete",
        actor=actor,
        api_key=api_key,
        target=rule,
        details={"times_fired": rule.times_fired},
    )
    rule.delete()


# --- applying rules to inbound messages ----------------------------------------------------------


def rules_enqueue_for_inbound(*, workspace_id: int, inbound_ids: Sequence[int]) -> None:
    """Called by the engine's ingestion for newly stored inbound messages: apply the rules in
    a task once the messages are committed (one task per batch)."""
    from automation.tasks import rules_apply_task

    ids = [int(pk) for pk in inbound_ids]
    if ids:
        transaction.on_commit(
            lambda: rules_apply_task.delay(workspace_id=workspace_id, inbound_ids=ids)
        )


def rules_apply(*, workspace: Workspace, inbound_ids: Sequence[int]) -> list[AutomationRun]:
    """Apply the workspace's active rules to these inbound messages; returns the runs made.

    Fires each rule at most once per message: the (rule, inbound) run row is inserted first,
    so a duplicate webhook, a redelivered task or a concurrent worker finds it and does
    nothing. Opt-out wins: when the message is an opt-out (STOP and its forms, flagged at
    ingestion) or the contact has opted out, the matching rule is recorded as
    `skipped_opt_out` and nothing is sent, tagged or listed. Each message is applied in its
    own transaction; a reply that cannot be queued (no credits, suspended workspace, inactive
    number) is recorded on the run, and the other actions still happen."""
    inbound_messages = (
        InboundMessage.objects.for_workspace(workspace)
        .filter(pk__in=list(inbound_ids))
        .select_related("sender")
        .order_by("received_at", "id")
    )
    rules_by_sender: dict[int, list[AutomationRule]] = {}
    runs: list[AutomationRun] = []
    for inbound in inbound_messages:
        if inbound.sender_id not in rules_by_sender:
            rules_by_sender[inbound.sender_id] = rules_for_sender(
                workspace=workspace, sender_id=inbound.sender_id
            )
        rules = rules_by_sender[inbound.sender_id]
        if not rules:
            continue
        for rule in rules_matching(rules=rules, texts=[inbound.text, inbound.payload]):
            run = _rule_fire(workspace=workspace, rule=rule, inbound=inbound)
            if run is not None:
                runs.append(run)
    return runs


def _existing_contact(workspace: Workspace, inbound: InboundMessage) -> Contact | None:
    queryset = Contact.objects.for_workspace(workspace)
    if inbound.contact_id is not None:
        contact = queryset.filter(pk=inbound.contact_id).first()
        if contact is not None:
            return contact
    return queryset.filter(phone=inbound.phone).first()


def _contact_for_inbound(workspace: Workspace, inbound: InboundMessage) -> Contact | None:
    """The sender of the message as a contact, created (via "inbound") when new. None when
    the number cannot be a contact (it does not parse)."""
    # Named as their WhatsApp profile says (kept on the conversation): a template's
    # {{first_name|friend}} then greets them by name, as the inbox already does.
    profile = (
        Conversation.objects.filter(sender_id=inbound.sender_id, phone=inbound.phone)
        .values_list("profile_name", flat=True)
        .first()
        or ""
    )
    first, _space, last = profile.partition(" ")
    try:
        return contact_services.contact_create(
            workspace=workspace,
            data={"phone": inbound.phone, "first_name": first[:100], "last_name": last[:100]},
            created_via=CreatedVia.INBOUND,
            consent_source=INBOUND_CONSENT_SOURCE,
        )
    except ValidationError:
        # Already there (made by a concurrent worker) or not a valid number.
        return Contact.objects.for_workspace(workspace).filter(phone=inbound.phone).first()


def _reply_text(
    workspace: Workspace, template: MessageTemplate, contact: Contact | None, phone: str
) -> str:
    if contact is not None:
        rendered = template_services.template_render_for_contact(
            workspace=workspace, variants=template.variants, contact=contact, footer=template.footer
        )
    else:
        values = rendering.contact_values(phone=phone)
        rendered = rendering.render_message(variants=template.variants, values=values, seed=phone)
        rendered.footer = template.footer
    return rendered.text + (f"\n\n{rendered.footer}" if rendered.footer else "")


@transaction.atomic
def _rule_fire(
    *, workspace: Workspace, rule: AutomationRule, inbound: InboundMessage
) -> AutomationRun | None:
    """Claim (rule, inbound) by inserting the run, then act. None when already claimed."""
    assert rule.workspace_id == inbound.workspace_id == workspace.pk
    contact = _existing_contact(workspace, inbound)
    opted_out = inbound.is_opt_out or (contact is not None and contact.opted_out_at is not None)
    run = AutomationRun(
        workspace=workspace,
        rule=rule,
        inbound=inbound,
        contact=contact,
        outcome=RunOutcome.SKIPPED_OPT_OUT if opted_out else RunOutcome.FIRED,
    )
    try:
        with transaction.atomic():
            run.save()
    except IntegrityError:
        return None  # this rule already ran for this message (duplicate or concurrent)
    if opted_out:
        run.detail = _("Opt-out wins: nothing is sent to a contact who opted out.")
        run.save(update_fields=["detail"])
        return run

    if contact is None:
        contact = _contact_for_inbound(workspace, inbound)
        run.contact = contact
    actions: dict[str, Any] = {}
    notes: list[str] = []
    if contact is not None:
        contact_qs = Contact.objects.for_workspace(workspace).filter(pk=contact.pk)
        for tag in rule.tags:
            contact_services.contacts_bulk_action(
                workspace=workspace, contacts=contact_qs, action="tag", tag=tag
            )
        if rule.tags:
            actions["tags"] = list(rule.tags)
        if rule.contact_list is not None:
            contact_services.contact_list_add_contacts(
                workspace=workspace, contact_list=rule.contact_list, contacts=contact_qs
            )
            actions["list"] = str(rule.contact_list.public_id)
    elif rule.tags or rule.contact_list_id:
        notes.append(_("No contact could be made from this number: tags and list skipped."))

    if rule.reply_template is not None:
        try:
            text = _reply_text(workspace, rule.reply_template, contact, inbound.phone)
            message, _created = message_send(
                workspace=workspace,
                to=inbound.phone,
                text=text,
                sender=inbound.sender,
                idempotency_key=f"automation:{rule.pk}:{inbound.pk}",
            )
        except InsufficientCredits as exc:
            run.outcome = RunOutcome.NO_CREDITS
            notes.append(str(exc))
        except (WorkspaceSuspended, rendering.TemplateError) as exc:
            run.outcome = RunOutcome.REPLY_FAILED
            notes.append(str(exc))
        except ValidationError as exc:
            run.outcome = RunOutcome.REPLY_FAILED
            notes.append(" ".join(exc.messages))
        else:
            run.reply_message = message
            actions["reply"] = str(message.public_id)

    run.actions = actions
    run.detail = " ".join(notes)[:255]
    run.save(update_fields=["contact", "outcome", "detail", "actions", "reply_message"])
    AutomationRule.objects.filter(pk=rule.pk).update(
        times_fired=F("times_fired") + 1, last_fired_at=timezone.now()
    )
    return run
