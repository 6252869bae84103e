"""Privacy reaches other apps' data only through their doors (`<app>/privacy.py`), found at
start-up and checked against `privacy.registry.PrivacyDoor`. These tests pin the wiring: which
doors exist and in what order, that nothing tied to a workspace is left out of an erasure, that
a malformed door fails loudly, and that neither side imports the other."""

from __future__ import annotations

import ast
import inspect
from decimal import Decimal
from pathlib import Path
from types import ModuleType

import pytest
from django.apps import apps
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from accounts import services as account_services
from accounts.models import Workspace
from automation import privacy as automation_door
from billing import services as billing_services
from billing.models import Order, Package
from messaging.contacts.models import Contact
from messaging.contacts.suppression import SuppressedPhone
from privacy import registry, selectors, services
from privacy.models import DataRequest
from privacy.services.erasure import OWN_WORKSPACE_MODELS
from privacy.services.export_sections import export_sections
from tests.factories import UserFactory

DOOR_APPS = ["messaging", "billing", "automation", "integrations", "support"]
ROOT = Path(settings.BASE_DIR)


def test_every_app_with_personal_data_has_a_door_in_installed_apps_order() -> None:
    assert registry.door_labels() == DOOR_APPS
    assert all(isinstance(door, registry.PrivacyDoor) for door in registry.doors())


def test_nothing_tied_to_a_workspace_is_left_out_of_its_erasure() -> None:
    # Each model with a foreign key to the workspace is erased by its app's door, or by
    # privacy itself (accounts' and privacy's own models).
    orphans = [
        model._meta.label
        for model in apps.get_models()
        if model is not Workspace
        and any(f.is_relation and f.related_model is Workspace for f in model._meta.fields)
        and model._meta.app_label not in DOOR_APPS
        and model not in OWN_WORKSPACE_MODELS
    ]
    assert orphans == []


PROTOCOL = [
    name
    for name, _member in inspect.getmembers(registry.PrivacyDoor, inspect.isfunction)
    if not name.startswith("_")
]


def _fake_door(**overrides: object) -> ModuleType:
    """A door with every function of the protocol (borrowed from automation's), and overrides."""
    module = ModuleType("fake.privacy")
    for name in PROTOCOL:
        setattr(module, name, getattr(automation_door, name))
    for name, value in overrides.items():
        setattr(module, name, value)
    return module


def test_a_door_missing_a_function_or_taking_other_arguments_fails_at_start_up() -> None:
    assert registry._check(_fake_door()) is not None

    missing = _fake_door()
    del missing.erase_recipient
    with pytest.raises(ImproperlyConfigured, match="no erase_recipient"):
        registry._check(missing)

    def positional(workspace: Workspace) -> bool:
        return False

    with pytest.raises(ImproperlyConfigured, match="keyword-only"):
        registry._check(_fake_door(workspace_keeps_records=positional))


def _imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append(node.module)
    return found


def test_privacy_imports_no_app_with_a_door_and_looks_up_no_model_by_name() -> None:
    sources = [p for p in (ROOT / "privacy").rglob("*.py") if "migrations" not in p.parts]
    offenders = [
        (str(path.relative_to(ROOT)), module)
        for path in sources
        for module in _imports(path)
        if module.split(".")[0] in DOOR_APPS
    ]
    lookups = [
        str(path.relative_to(ROOT))
        for path in sources
        for needle in ("get_model(", "get_models(")
        if needle in path.read_text(encoding="utf-8")
    ]
    assert offenders == []
    assert lookups == []


def test_doors_do_not_import_privacy() -> None:
    offenders = [
        (label, module)
        for label in DOOR_APPS
        for module in _imports(ROOT / label / "privacy.py")
        if module.split(".")[0] == "privacy"
    ]
    assert offenders == []


@pytest.mark.django_db
def test_export_sections_and_summary_keep_their_order() -> None:
    user = UserFactory()
    account_services.workspace_create(name="Mine", owner=user)

    names = [name for name, _rows, _fields in export_sections(user)]
    categories = [row["category"] for row in selectors.privacy_centre_summary(user=user)]

    assert names == [
        "account",
        "consents",
        "login_events",
        "audit_events",
        "memberships",
        "api_keys",
        "notifications",
        "numbers",
        "contacts",
        "contact_lists",
        "contact_list_members",
        "segments",
        "contact_imports",
        "templates",
        "campaigns",
        "messages",
        "replies",
        "campaign_media",
        "conversations",
        "conversation_notes",
        "canned_replies",
        "orders",
        "invoices",
        "credits_ledger",
        "automation_rules",
        "automation_runs",
        "webhook_endpoints",
        "webhook_deliveries",
        "support_tickets",
        "support_messages",
        "support_attachments",
    ]
    assert categories == [
        "account",
        "login_events",
        "audit_events",
        "consents",
        "memberships",
        "workspaces_owned",
        "numbers",
        "contacts",
        "templates",
        "messages",
        "replies",
        "orders",
        "support_tickets",
    ]


@pytest.mark.django_db
def test_a_workspace_kept_for_billing_keeps_only_billing_rows() -> None:
    # given: a workspace with contacts, a suppression entry, a rule, a webhook endpoint, a
    # request about it, and a paid order (billing records are kept by law)
    user = UserFactory()
    ws = account_services.workspace_create(name="Billed", owner=user)
    Contact.objects.create(workspace=ws, phone="+994501234567")
    SuppressedPhone.objects.create(phone_hash="h" * 64, scope="workspace", workspace=ws)
    services.data_request_create(
        kind=DataRequest.Kind.ACCESS, channel=DataRequest.Channel.EMAIL, workspace=ws
    )
    package = Package.objects.create(
        name="Start", credits=10, validity_days=30, price=Decimal("5.00")
    )
    order = billing_services.order_create(
        workspace=ws, package=package, method=Order.Method.BANK_TRANSFER, actor=user
    )
    billing_services.order_confirm_bank_transfer(order=order, actor=UserFactory(is_staff=True))

    # when
    proof = services.account_erase(user=user, actor=None, reason="test")

    # then: the workspace row is a tombstone; of its rows, only billing's remain
    assert proof["workspaces"][0]["workspace"] == "tombstone_kept_for_billing"
    assert proof["workspaces"][0]["counts"]["messaging.Contact"] == 1
    left = {
        model._meta.label
        for model in apps.get_models()
        if model is not Workspace
        for f in model._meta.fields
        if f.is_relation
        and f.related_model is Workspace
        and model._base_manager.filter(**{f.name: ws}).exists()
    }
    assert left
    assert {label.split(".")[0] for label in left} == {"billing"}
    assert Workspace.objects.get(pk=ws.pk).name == f"erased-workspace-{ws.pk}"
