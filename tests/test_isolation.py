"""Cross-tenant isolation, proved over every route of the project (DESIGN.md, Decisions).

Three probes, with every method: B's member on A's slug (404); A's object ids under B's slug
(404); B's API key with A's object ids (404, or 405 for a method the route does not accept). A
signed-in member never gets a sign-in redirect, and A's rows are unchanged at the end. New routes
join automatically; one the harness cannot fill fails until registered in tests/isolation.py.
Within a workspace, the same walk proves per-number inbox access: a member restricted to other
numbers reads nothing of a hidden number's conversations on any page."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest
from django.apps import apps
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from rest_framework.test import APIClient

from .isolation import (
    API_OBJECTS,
    KWARG_FACTORIES,
    PUBLIC_NAME_PREFIXES,
    PUBLIC_NAMESPACES,
    PUBLIC_ROUTES,
    Tenant,
    make_tenant,
)

METHODS = ("get", "post", "put", "patch", "delete")
MARKER_A = "Zebra Tenant Alpha"


@dataclass(frozen=True)
class Route:
    name: str  # namespaced, e.g. "accounts:team"
    namespace: str
    kwargs: tuple[str, ...]
    defaults: tuple[tuple[str, Any], ...]
    callback: Any


def _walk(patterns: list[Any], namespace: str = "", defaults: dict | None = None) -> list[Route]:
    routes: list[Route] = []
    for entry in patterns:
        if isinstance(entry, URLResolver):
            ns = entry.namespace or ""
            full_ns = ":".join(p for p in (namespace, ns) if p)
            if full_ns.split(":", 1)[0] in PUBLIC_NAMESPACES:
                continue
            routes += _walk(
                entry.url_patterns, full_ns, {**(defaults or {}), **entry.default_kwargs}
            )
        elif isinstance(entry, URLPattern):
            if not entry.name:
                raise AssertionError(f"unnamed route {entry.pattern}: name it so it can be probed")
            regex = entry.pattern.regex
            kwargs = tuple(sorted(set(regex.groupindex) - set(entry.default_args)))
            full = f"{namespace}:{entry.name}" if namespace else entry.name
            routes.append(
                Route(
                    full,
                    namespace,
                    kwargs,
                    tuple(sorted(entry.default_args.items())),
                    entry.callback,
                )
            )
    return routes


def all_routes() -> list[Route]:
    unique: dict[tuple[str, tuple[str, ...]], Route] = {}
    for route in _walk(get_resolver().url_patterns):
        if "format" in route.kwargs:  # DRF's ".json" suffix twins: same view as the plain route
            continue
        unique.setdefault((route.name, route.kwargs), route)
    return list(unique.values())


def _is_public(route: Route) -> bool:
    top = route.namespace.split(":", 1)[0]
    return (
        top in PUBLIC_NAMESPACES
        or route.name in PUBLIC_ROUTES
        or route.name.startswith(PUBLIC_NAME_PREFIXES)
    )


def _snapshot(workspace_id: int) -> str:
    """Every row that belongs to workspace A, serialised, to compare before and after."""
    rows: dict[str, Any] = {}
    for model in apps.get_models():
        names = {f.name for f in model._meta.get_fields()}
        if "workspace" in names and model._meta.get_field("workspace").is_relation:
            rows[model._meta.label] = list(
                model.objects.filter(workspace_id=workspace_id).order_by("pk").values()
            )
    rows["accounts.Workspace"] = list(
        apps.get_model("accounts", "Workspace").objects.filter(pk=workspace_id).values()
    )
    return json.dumps(rows, default=str, sort_keys=True)


def _fill(route: Route, tenant: Tenant, slug_tenant: Tenant | None = None) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for kwarg in route.kwargs:
        if kwarg == "workspace_slug" and slug_tenant is not None:
            values[kwarg] = slug_tenant.workspace.slug
            continue
        if route.namespace == "api" and kwarg not in KWARG_FACTORIES:
            basename = getattr(route.callback, "initkwargs", {}).get("basename")
            factory = API_OBJECTS.get(basename or "")
            assert factory, f"{route.name}: register API basename {basename!r} in API_OBJECTS"
            values[kwarg] = factory(tenant)
            continue
        factory = KWARG_FACTORIES.get(kwarg)
        assert factory, f"{route.name}: register URL kwarg {kwarg!r} in tests/isolation.py"
        values[kwarg] = factory(tenant)
    return values


def _assert_no_leak(response: Any, route: Route, method: str, allowed: set[int]) -> None:
    body = response.content.decode(errors="replace") if hasattr(response, "content") else ""
    assert response.status_code in allowed, (
        f"{method.upper()} {route.name} answered {response.status_code}, expected {allowed}"
    )
    assert MARKER_A not in body, f"{method.upper()} {route.name} leaked workspace A's data"


@pytest.mark.django_db
def test_every_route_is_isolated_between_workspaces() -> None:
    # given: two tenants; A's objects exist for every registered kind
    a = make_tenant(MARKER_A, "alpha")
    b = make_tenant("Beta Tenant", "beta")
    routes = all_routes()
    for route in routes:  # create A's objects before the snapshot
        if not _is_public(route):
            _fill(route, a)
    before = _snapshot(a.workspace.pk)

    b_browser = Client()
    b_browser.force_login(b.owner)
    b_api = APIClient()
    b_api.credentials(HTTP_AUTHORIZATION=f"Bearer {b.api_secret}")
    probed: list[str] = []

    for route in routes:
        if _is_public(route):
            continue
        if route.namespace == "api":
            object_kwargs = [k for k in route.kwargs if k != "format"]
            path = reverse(route.name, kwargs=_fill(route, a))
            if object_kwargs:
                for method in METHODS:
                    response = getattr(b_api, method)(path, {}, format="json")
                    _assert_no_leak(response, route, method, {404, 405})
            else:
                _assert_no_leak(b_api.get(path), route, "get", {200})
            probed.append(route.name)
            continue
        assert "workspace_slug" in route.kwargs, (
            f"{route.name} is neither workspace-scoped (/w/<workspace_slug>/...) nor listed "
            "as public in tests/isolation.py"
        )
        # probe 1: B's member on A's slug (and A's ids)
        path = reverse(route.name, kwargs=_fill(route, a))
        for method in METHODS:
            _assert_no_leak(getattr(b_browser, method)(path), route, method, {404})
        # probe 2: A's object ids under B's own slug
        if len(route.kwargs) > 1:
            path = reverse(route.name, kwargs=_fill(route, a, slug_tenant=b))
            for method in METHODS:
                _assert_no_leak(getattr(b_browser, method)(path), route, method, {404, 405})
        probed.append(route.name)

    # then: nothing of A's changed, and the harness really walked the routes
    assert _snapshot(a.workspace.pk) == before
    assert "accounts:team" in probed
    assert "api:audit-event-detail" in probed


@pytest.mark.django_db
def test_api_lists_only_the_keys_workspace() -> None:
    a = make_tenant(MARKER_A, "alpha")
    b = make_tenant("Beta Tenant", "beta")
    for tenant in (a, b):
        API_OBJECTS["audit-event"](tenant)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {b.api_secret}")

    workspace = client.get(reverse("api:workspace")).json()
    events = client.get(reverse("api:audit-event-list")).json()["results"]

    assert workspace["name"] == "Beta Tenant"
    assert events, "B sees its own events"
    assert {e["actor"] for e in events} <= {b.owner.email, ""}
    assert all(MARKER_A not in json.dumps(e) for e in events)


def test_public_routes_have_reasons() -> None:
    for name, reason in {**PUBLIC_ROUTES, **PUBLIC_NAMESPACES}.items():
        assert reason.strip(), name


@pytest.mark.django_db
def test_b_writes_carrying_as_ids_in_their_bodies_change_nothing() -> None:
    """Probe 3 for the fields that name another object in a form, a query or a JSON body
    (the route walk above sends empty bodies): the team inbox, inbox access, number
    replacement. Each is refused (4xx or the form's message) and A's rows stay as they were."""
    from messaging.inbox.models import Conversation

    a = make_tenant(MARKER_A, "alpha")
    b = make_tenant("Beta Tenant", "beta")
    a_ids = {k: KWARG_FACTORIES[k](a) for k in ("conversation_id", "canned_id", "number_id")}
    a_template = API_OBJECTS["whatsapp-template"](a)
    a_campaign = KWARG_FACTORIES["campaign_id"](a)
    b_conversation = Conversation.objects.get(public_id=KWARG_FACTORIES["conversation_id"](b))
    b_number = KWARG_FACTORIES["number_id"](b)
    before = _snapshot(a.workspace.pk)
    browser = Client()
    browser.force_login(b.owner)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {b.api_secret}")

    def inbox(name: str) -> str:
        return reverse(f"messaging_inbox:{name}", args=["beta", b_conversation.public_id])

    # B's own conversation, with A's owner, canned reply and WhatsApp template in the body
    assign = browser.post(inbox("assign"), {"assignee": str(a.owner.pk)}, follow=True)
    assert "Choose a member of this workspace." in assign.content.decode()
    canned = browser.get(inbox("canned_text") + f"?canned={a_ids['canned_id']}")
    assert canned.status_code == 404
    template = browser.post(inbox("template"), {"template": str(a_template)})
    assert template.status_code == 400
    page = browser.get(inbox("conversation") + f"?template={a_template}")
    assert "iso_template" not in page.content.decode()
    api_assign = api.post(
        f"/api/v1/conversations/{b_conversation.public_id}/assign/",
        {"assignee": a.owner.email},
        format="json",
    )
    assert api_assign.status_code == 400
    b_conversation.refresh_from_db()
    assert b_conversation.assignee_id is None
    # A's number as a member's inbox access, and as B's number's replacement
    access = browser.post(
        reverse("messaging_inbox:access", args=["beta"]),
        {f"numbers-{b.member.pk}": [str(a.cache["sender"].pk)]},
        follow=True,
    )
    assert "Choose numbers of this workspace." in access.content.decode()
    b.member.refresh_from_db()
    assert b.member.inbox_sender_ids == []
    replace = browser.post(
        reverse("messaging_numbers:replace", args=["beta", b_number]),
        {"replacement": str(a_ids["number_id"])},
        follow=True,
    )
    assert "Choose the number that replaces this one." in replace.content.decode()
    # A's number and campaign as list filters show nothing of A's
    listing_url = reverse("messaging_inbox:list", args=["beta"]) + "?state=all&"
    for query in (f"number={a_ids['number_id']}", f"campaign={a_campaign}"):
        listing = browser.get(listing_url + query)
        assert listing.status_code == 200
        assert str(a_ids["conversation_id"]) not in listing.content.decode()
        assert MARKER_A not in listing.content.decode()

    # then: nothing of A's changed
    assert _snapshot(a.workspace.pk) == before


@pytest.mark.django_db
def test_a_member_restricted_to_other_numbers_reads_nothing_of_a_numbers_conversations() -> None:
    """Per-number inbox access, over every dashboard route: a member who sees only another
    number opens each page (GET, the registry's ids) and finds no line of the hidden number's
    conversation: its reply, its agent's answer, its preview, its label, an automation run
    quoting it. The owner, who sees every number, finds them (so the walk can see a leak)."""
    from automation.models import AutomationRun, RunOutcome
    from core.crypto import encrypt_json
    from messaging.campaigns.models import InboundMessage, Message
    from messaging.inbox import services as inbox_services
    from messaging.inbox.models import Conversation
    from messaging.numbers.models import Sender

    hidden_marker = "Quokka hidden line"
    a = make_tenant(MARKER_A, "alpha")
    routes = [r for r in all_routes() if not _is_public(r) and r.namespace != "api"]
    for route in routes:
        _fill(route, a)
    hidden, conversation = a.cache["sender"], a.cache["conversation"]
    Conversation.objects.filter(pk=conversation.pk).update(
        last_preview=f"{hidden_marker} preview", labels=[f"{hidden_marker} label"]
    )
    inbound = InboundMessage.objects.create(
        workspace=a.workspace,
        sender=hidden,
        phone=conversation.phone,
        contact=conversation.contact,
        provider_message_id="wamid.hidden",
        kind="text",
        text=f"{hidden_marker} reply",
    )
    Message.objects.create(
        workspace=a.workspace,
        sender=hidden,
        phone=conversation.phone,
        contact=conversation.contact,
        body=f"{hidden_marker} answer",
    )
    AutomationRun.objects.create(
        workspace=a.workspace,
        rule=a.cache["automation_rule"],
        inbound=inbound,
        outcome=RunOutcome.FIRED,
    )
    shown = Sender.objects.create(
        workspace=a.workspace,
        provider=Sender.Provider.SANDBOX,
        phone_number="+994550000077",
        phone_number_id=f"7{a.workspace.pk:014d}",
        credentials_encrypted=encrypt_json({"access_token": "t"}),
        status=Sender.Status.ACTIVE,
    )
    inbox_services.membership_inbox_numbers_set(
        workspace=a.workspace, membership=a.member, sender_ids=[shown.pk], actor=a.owner
    )

    def pages_showing_the_hidden_number(user: Any) -> set[str]:
        browser = Client()
        browser.force_login(user)
        found = set()
        for route in routes:
            response = browser.get(reverse(route.name, kwargs=_fill(route, a)))
            chunks = response.streaming_content if response.streaming else [response.content]
            if hidden_marker.encode() in b"".join(chunks):
                found.add(route.name)
        return found

    # when: the restricted member, then the owner, open every page
    member_sees = pages_showing_the_hidden_number(a.member.user)
    owner_sees = pages_showing_the_hidden_number(a.owner)

    # then: the owner reads the hidden number's lines on the pages that show them; the
    # member on none
    assert {
        "messaging_inbox:list",
        "messaging_inbox:conversation",
        "messaging_campaigns:inbox",
        "messaging_campaigns:messages",
        "messaging_analytics:home",
        "automation:rule_edit",
    } <= owner_sees
    assert member_sees == set()
