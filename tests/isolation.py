"""The registry the cross-tenant isolation test (tests/test_isolation.py) fills routes from.

Every URL kwarg of every dashboard route must have an entry in `KWARG_FACTORIES`: a function
that, given a tenant, returns the value that names one of that tenant's objects (creating the
object if needed). Every API viewset with a detail route needs an entry in `API_OBJECTS`,
keyed by the router basename. Routes that are not tenant-scoped are listed in
`PUBLIC_ROUTES` / `PUBLIC_NAMESPACES` with the reason. A route the harness cannot fill fails the
test until it is registered here."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from accounts import services
from accounts.models import AuditEvent, Invitation, Membership, User, Workspace
from accounts.permissions import API_SCOPES, Role
from billing import services as billing_services
from billing.models import Order, Package

from .factories import MembershipFactory, UserFactory


@dataclass
class Tenant:
    """One workspace with an owner, a plain member, and lazily made objects."""

    workspace: Workspace
    owner: User
    member: Membership
    api_secret: str
    cache: dict[str, Any] = field(default_factory=dict)

    def once(self, key: str, make: Callable[[], Any]) -> Any:
        if key not in self.cache:
            self.cache[key] = make()
        return self.cache[key]


def make_tenant(name: str, slug: str) -> Tenant:
    workspace = Workspace.objects.create(name=name, slug=slug)
    owner = MembershipFactory(workspace=workspace, role=Role.OWNER).user
    member = MembershipFactory(workspace=workspace, role=Role.MEMBER, user=UserFactory())
    _key, secret = services.api_key_create(
        workspace=workspace, actor=owner, name=f"{name} key", scopes=list(API_SCOPES)
    )
    return Tenant(workspace=workspace, owner=owner, member=member, api_secret=secret)


def _invitation(t: Tenant) -> Invitation:
    owner_membership = Membership.objects.get(workspace=t.workspace, user=t.owner)
    invitation, _token = services.invitation_create(
        workspace=t.workspace,
        actor_membership=owner_membership,
        email=f"invitee-{t.workspace.slug}@example.com",
        role=Role.VIEWER,
    )
    return invitation


def _sender(t: Tenant) -> Any:
    from core.crypto import encrypt_json
    from messaging.numbers.models import Sender

    return Sender.objects.create(
        workspace=t.workspace,
        provider=Sender.Provider.SANDBOX,
        phone_number="+994550000001",
        phone_number_id=f"9{t.workspace.pk:014d}",
        waba_id=f"waba-{t.workspace.pk}",
        credentials_encrypted=encrypt_json({"access_token": "t", "app_secret": "s"}),
        status=Sender.Status.ACTIVE,
    )


def _campaign(t: Tenant) -> Any:
    from messaging.campaigns.models import Campaign
    from messaging.content.models import MessageTemplate

    template = MessageTemplate.objects.create(workspace=t.workspace, name="Iso", variants=["Hi"])
    return Campaign.objects.create(workspace=t.workspace, name="Iso campaign", template=template)


def _message(t: Tenant) -> Any:
    from messaging.campaigns.models import Message

    sender = t.once("sender", lambda: _sender(t))
    return Message.objects.create(
        workspace=t.workspace, sender=sender, phone="+994550000002", body="Alpha secret body"
    )


def _contact(t: Tenant) -> Any:
    from messaging.contacts import services as contacts_services

    return contacts_services.contact_create(
        workspace=t.workspace, data={"phone": "+994550000003", "first_name": "Alpha contact"}
    )


def _contact_list(t: Tenant) -> Any:
    from messaging.contacts import services as contacts_services

    return contacts_services.contact_list_create(workspace=t.workspace, name="Iso list")


def _segment(t: Tenant) -> Any:
    from messaging.contacts import services as contacts_services

    return contacts_services.segment_create(
        workspace=t.workspace, name="Iso segment", filters={"tags_any": ["iso"]}
    )


def _contact_import(t: Tenant) -> Any:
    from django.core.files.uploadedfile import SimpleUploadedFile

    from messaging.imports import services as imports_services

    return imports_services.contact_import_create(
        workspace=t.workspace,
        uploaded=SimpleUploadedFile("iso.csv", b"phone,name\n+994550000004,Iso\n"),
    )


def _template(t: Tenant) -> Any:
    from messaging.content import services as content_services

    return content_services.template_create(
        workspace=t.workspace, data={"name": "Iso template", "variants": ["Hi {{first_name}}"]}
    )


def _whatsapp_template(t: Tenant) -> Any:
    from messaging.content.models import WhatsAppTemplate

    sender = t.once("sender", lambda: _sender(t))
    return WhatsAppTemplate.objects.create(
        workspace=t.workspace,
        waba_id=sender.waba_id,
        meta_id=f"77{t.workspace.pk}",
        name="iso_template",
        language="en",
        status=WhatsAppTemplate.Status.APPROVED,
        components=[{"type": "BODY", "text": "Hello {{1}}!", "example": {"body_text": [["A"]]}}],
    )


def _automation_rule(t: Tenant) -> Any:
    from automation import services as automation_services

    return automation_services.rule_create(
        workspace=t.workspace,
        data={
            "name": "Iso rule",
            "keywords": ["price"],
            "reply_template": t.once("template", lambda: _template(t)),
        },
    )


def _audit_event(t: Tenant) -> AuditEvent:
    return services.audit_record(workspace=t.workspace, action="test.marker", actor=t.owner)


def _billing_order(t: Tenant) -> Any:
    package = Package.objects.create(
        name="Isolation", credits=10, validity_days=30, price=Decimal("1.00")
    )
    return billing_services.order_create(
        workspace=t.workspace, package=package, method=Order.Method.BANK_TRANSFER, actor=t.owner
    )


def _billing_invoice(t: Tenant) -> Any:
    order = t.once("billing_order", lambda: _billing_order(t))
    billing_services.order_confirm_bank_transfer(order=order, actor=t.owner)
    return order.invoice


def _webhook_endpoint(t: Tenant) -> Any:
    from integrations import services as integration_services

    endpoint, _secret = integration_services.webhook_endpoint_create(
        workspace=t.workspace, url="https://hooks.example.com/iso", event_types=["*"]
    )
    return endpoint


def _webhook_delivery(t: Tenant) -> Any:
    from integrations import services as integration_services

    endpoint = t.once("webhook_endpoint", lambda: _webhook_endpoint(t))
    return integration_services.webhook_endpoint_send_test(workspace=t.workspace, endpoint=endpoint)


def _ticket(t: Tenant) -> Any:
    from django.core.files.uploadedfile import SimpleUploadedFile

    from support import services as support_services

    return support_services.ticket_open(
        workspace=t.workspace,
        user=t.owner,
        subject="Iso ticket",
        category="technical",
        body="Alpha secret question",
        files=[SimpleUploadedFile("iso.txt", b"Alpha secret file")],
    )


def _ticket_attachment(t: Tenant) -> Any:
    return t.once("ticket", lambda: _ticket(t)).attachments.get()


def _conversation(t: Tenant) -> Any:
    from messaging.inbox.models import Conversation

    sender = t.once("sender", lambda: _sender(t))
    contact = t.once("contact", lambda: _contact(t))
    return Conversation.objects.create(
        workspace=t.workspace,
        sender=sender,
        phone=contact.phone,
        contact=contact,
        last_preview="Alpha secret reply",
    )


def _canned_reply(t: Tenant) -> Any:
    from messaging.inbox import services as inbox_services

    return inbox_services.canned_reply_create(
        workspace=t.workspace, name="Iso canned", text="Hello {{first_name}}"
    )


KWARG_FACTORIES: dict[str, Callable[[Tenant], Any]] = {
    "workspace_slug": lambda t: t.workspace.slug,
    "membership_id": lambda t: t.member.pk,
    "invitation_id": lambda t: t.once("invitation", lambda: _invitation(t)).public_id,
    "api_key_id": lambda t: t.workspace.api_keys.first().public_id,
    "sender_id": lambda t: t.once("sender", lambda: _sender(t)).public_id,
    "campaign_id": lambda t: t.once("campaign", lambda: _campaign(t)).public_id,
    "action": lambda t: "pause",
    "order_id": lambda t: t.once("billing_order", lambda: _billing_order(t)).public_id,
    "invoice_id": lambda t: t.once("billing_invoice", lambda: _billing_invoice(t)).public_id,
    "contact_id": lambda t: t.once("contact", lambda: _contact(t)).public_id,
    "list_id": lambda t: t.once("contact_list", lambda: _contact_list(t)).public_id,
    "segment_id": lambda t: t.once("segment", lambda: _segment(t)).public_id,
    "import_id": lambda t: t.once("contact_import", lambda: _contact_import(t)).public_id,
    "template_id": lambda t: t.once("template", lambda: _template(t)).public_id,
    "endpoint_id": lambda t: t.once("webhook_endpoint", lambda: _webhook_endpoint(t)).public_id,
    "delivery_id": lambda t: t.once("webhook_delivery", lambda: _webhook_delivery(t)).public_id,
    "rule_id": lambda t: t.once("automation_rule", lambda: _automation_rule(t)).public_id,
    "whatsapp_template_id": lambda t: (
        t.once("whatsapp_template", lambda: _whatsapp_template(t)).public_id
    ),
    "number_id": lambda t: t.once("sender", lambda: _sender(t)).public_id,
    "ticket_id": lambda t: t.once("ticket", lambda: _ticket(t)).public_id,
    "attachment_id": lambda t: t.once("ticket_attachment", lambda: _ticket_attachment(t)).public_id,
    "conversation_id": lambda t: t.once("conversation", lambda: _conversation(t)).public_id,
    "canned_id": lambda t: t.once("canned_reply", lambda: _canned_reply(t)).public_id,
}

# Router basename -> the lookup value of one of the tenant's objects.
API_OBJECTS: dict[str, Callable[[Tenant], Any]] = {
    "audit-event": lambda t: t.once("audit", lambda: _audit_event(t)).pk,
    "contact": lambda t: t.once("contact", lambda: _contact(t)).public_id,
    "contact-list": lambda t: t.once("contact_list", lambda: _contact_list(t)).public_id,
    "segment": lambda t: t.once("segment", lambda: _segment(t)).public_id,
    "contact-import": lambda t: t.once("contact_import", lambda: _contact_import(t)).public_id,
    "template": lambda t: t.once("template", lambda: _template(t)).public_id,
    "campaign": lambda t: t.once("campaign", lambda: _campaign(t)).public_id,
    "message": lambda t: t.once("message", lambda: _message(t)).public_id,
    "number": lambda t: t.once("sender", lambda: _sender(t)).public_id,
    "billing-ledger": lambda t: (
        t.once("billing_invoice", lambda: _billing_invoice(t)).order.lot.entries.first().pk
    ),
    "billing-order": lambda t: t.once("billing_order", lambda: _billing_order(t)).public_id,
    "webhook-endpoint": lambda t: (
        t.once("webhook_endpoint", lambda: _webhook_endpoint(t)).public_id
    ),
    "webhook-delivery": lambda t: (
        t.once("webhook_delivery", lambda: _webhook_delivery(t)).public_id
    ),
    "automation-rule": lambda t: t.once("automation_rule", lambda: _automation_rule(t)).public_id,
    "whatsapp-template": lambda t: (
        t.once("whatsapp_template", lambda: _whatsapp_template(t)).public_id
    ),
    "conversation": lambda t: t.once("conversation", lambda: _conversation(t)).public_id,
}

PUBLIC_NAMESPACES: dict[str, str] = {
    "admin": "Django admin: staff only, guarded by admin permissions, not by workspace",
    "messaging_webhooks": "gateway webhooks: authenticated by signature, routed by the "
    "number's unguessable id (tests/messaging/numbers/test_webhook_receivers.py)",
}

PUBLIC_ROUTES: dict[str, str] = {
    "home": "landing page / redirect to the user's own workspace",
    "healthz": "health check, no tenant data",
    "set_language": "Django's language switcher: sets the visitor's language, no tenant data",
    "accounts:workspace_create": "creates a new workspace for the signed-in user",
    "accounts:profile": "the signed-in user's own profile",
    "accounts:invitation_accept": "capability URL: the secret token is the credential",
    "accounts:sessions": "the signed-in user's own sessions",
    "accounts:sessions_sign_out_others": "the signed-in user's own sessions",
    "accounts:session_sign_out": "the signed-in user's own session (another user's id is a 404: "
    "tests/accounts/test_sessions.py)",
    "accounts:session_not_me": "the signed-in user's own session (another user's id is a 404: "
    "tests/accounts/test_sessions.py)",
    "accounts:security_not_me": "capability URL: the signed, expiring token is the credential",
    "api:schema": "OpenAPI schema, no tenant data",
    "api:docs": "API reference page, no tenant data",
    "api:workspace": "no kwargs: the API key fixes the workspace (checked below by content)",
    "billing:stripe_webhook": "Stripe's callback: authenticated by its signature, not a member",
    "privacy:terms": "public policy page",
    "privacy:privacy": "public policy page",
    "privacy:cookies": "public policy page",
    "privacy:subprocessors": "public sub-processor list",
    "privacy:transfers_csv": "public register of cross-border transfers (CSV)",
    "privacy:retention": "public retention periods (from the privacy policy)",
    "privacy:accept": "the signed-in user's own data (policy acceptance)",
    "privacy:cookie_consent": "cookie choice of the visitor; no tenant data",
    "privacy:cookie_settings": "cookie choice of the visitor; no tenant data",
    "privacy:deletion_request": "public deletion-request form; answers alike for any address",
    "privacy:deletion_sent": "static confirmation page",
    "privacy:deletion_confirm": "capability URL: the secret token is the credential",
    "privacy:account_reactivate": "capability URL: the signed token is the credential",
    "privacy:unsubscribe": "capability URL: the signed token is the credential",
    "privacy:centre": "the signed-in user's own data",
    "privacy:centre_consent": "the signed-in user's own data",
    "privacy:centre_restrict": "the signed-in user's own data",
    "privacy:centre_export": "the signed-in user's own data",
    "privacy:export_download": "the signed-in user's own data (another user's id is a 404)",
    "privacy:centre_delete": "the signed-in user's own data",
    "privacy:centre_deactivate": "the signed-in user's own data",
}

# allauth's routes (sign-in, sign-up, password, e-mail, MFA) act on the signed-in user only.
PUBLIC_NAME_PREFIXES: tuple[str, ...] = ("account_", "mfa_")
