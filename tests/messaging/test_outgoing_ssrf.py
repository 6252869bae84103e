"""F3 (issue 17): outgoing HTTP to a user-supplied gateway never follows a redirect, so a
gateway cannot bounce our request (and its API key) to an internal address; and a host name
that resolves to a private address is refused at connect time, for every connection."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import pytest
from aiohttp import web
from django.core.exceptions import ValidationError
from django.test import override_settings

from core.outgoing import AddressPolicy
from messaging.gateways.base import WebGatewayCredentials
from messaging.gateways.web_gateway import WebGatewayAdapter, WebGatewayError
from messaging.numbers.models import Sender
from messaging.numbers.services import sender_connect_web_gateway


@dataclass
class Server:
    url: str
    requests: list[dict[str, str]] = field(default_factory=list)


def _serve(handler_for: Callable[[Server], web.Handler]) -> Iterator[Server]:
    """A real HTTP server on 127.0.0.1 in its own thread; records every request's headers."""
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    holder: dict[str, object] = {}

    def run() -> None:
        asyncio.set_event_loop(loop)
        app = web.Application()
        server = Server(url="")
        holder["server"] = server
        app.router.add_route("*", "/{tail:.*}", handler_for(server))
        runner = web.AppRunner(app)
        loop.run_until_complete(runner.setup())
        site = web.TCPSite(runner, "127.0.0.1", 0)
        loop.run_until_complete(site.start())
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        server.url = f"http://127.0.0.1:{port}"
        holder["runner"] = runner
        ready.set()
        loop.run_forever()
        loop.run_until_complete(runner.cleanup())
        loop.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    ready.wait(5)
    yield holder["server"]  # type: ignore[misc]
    loop.call_soon_threadsafe(loop.stop)
    thread.join(5)


@pytest.fixture
def recorder() -> Iterator[Server]:
    """Stands for the internal service an attacker wants to reach (e.g. metadata on
    169.254.169.254): records whatever reaches it."""

    def handler_for(server: Server) -> web.Handler:
        async def handle(request: web.Request) -> web.Response:
            server.requests.append({"path": request.path, **dict(request.headers)})
            return web.json_response({"name": "s", "status": "WORKING"})

        return handle

    yield from _serve(handler_for)


@pytest.fixture
def redirecting_gateway(recorder: Server) -> Iterator[Server]:
    """A "gateway" that answers every call with a redirect to the internal recorder."""

    def handler_for(server: Server) -> web.Handler:
        async def handle(request: web.Request) -> web.Response:
            server.requests.append({"path": request.path, **dict(request.headers)})
            raise web.HTTPTemporaryRedirect(location=f"{recorder.url}{request.path}")

        return handle

    yield from _serve(handler_for)


@pytest.mark.django_db
def test_a_gateway_redirect_is_refused_and_the_key_never_reaches_its_target(
    workspace, owner, redirecting_gateway: Server, recorder: Server
) -> None:
    # given: a gateway (allowed: the test setting allows loopback) that redirects every call
    # when: a user connects it
    with pytest.raises(ValidationError) as caught:
        sender_connect_web_gateway(
            workspace=workspace,
            actor=owner,
            base_url=redirecting_gateway.url,
            api_key="secret-gateway-key",
        )

    # then: the gateway was asked once, the redirect was not followed, the user is told why
    assert len(redirecting_gateway.requests) == 1
    assert recorder.requests == []
    assert "redirect" in " ".join(caught.value.message_dict["base_url"])
    assert not Sender.objects.exists()


def test_a_redirect_to_the_metadata_address_is_not_followed(
    redirecting_gateway: Server,
) -> None:
    adapter = WebGatewayAdapter(
        WebGatewayCredentials(
            base_url=redirecting_gateway.url, api_key="secret-gateway-key", session="s"
        ),
        address_policy=AddressPolicy(allow_private=True),
    )

    async def scenario() -> None:
        async with adapter:
            await adapter.get_session()

    with pytest.raises(WebGatewayError, match="redirect"):
        asyncio.run(scenario())


def test_a_name_resolving_to_a_private_address_is_refused_at_connect(recorder: Server) -> None:
    # "localhost" stands for any DNS name an attacker points at an internal address.
    adapter = WebGatewayAdapter(
        WebGatewayCredentials(
            base_url=recorder.url.replace("127.0.0.1", "localhost"),
            api_key="secret-gateway-key",
            session="s",
        ),
        address_policy=AddressPolicy(allow_private=False),
    )

    async def scenario() -> None:
        async with adapter:
            await adapter.get_session()

    with pytest.raises(WebGatewayError, match="private or local address"):
        asyncio.run(scenario())
    assert recorder.requests == []


@pytest.mark.parametrize(
    "address",
    ["127.0.0.1", "10.0.0.5", "172.16.0.1", "192.168.1.1", "169.254.169.254", "::1", "0.0.0.0"],  # noqa: S104
)
def test_the_rule_refuses_internal_addresses(address: str) -> None:
    assert not AddressPolicy(allow_private=False).allows(address)
    assert AddressPolicy(allow_private=True).allows(address)


def test_the_rule_allows_public_addresses_and_trusted_hosts() -> None:
    policy = AddressPolicy(allow_private=False, trusted_hosts=frozenset({"sandbox"}))
    assert policy.allows("93.184.215.14")
    assert policy.allows("10.0.0.9", host="sandbox")
    assert not policy.allows("10.0.0.9", host="evil.example")


@override_settings(ALLOW_PRIVATE_WEBHOOK_URLS=False)
@pytest.mark.django_db
def test_the_engines_policy_trusts_only_the_operators_hosts(settings) -> None:
    from messaging.engine.adapters import outgoing_policy

    policy = outgoing_policy()
    assert not policy.allow_private
    assert policy.allows("127.0.0.1", host="127.0.0.1")  # the sandbox, set by the operator
    assert not policy.allows("127.0.0.1", host="localhost")


@pytest.mark.django_db
def test_a_gateway_that_does_not_answer_is_explained_without_the_transport_error(
    workspace, owner
) -> None:
    """The page showed "ClientConnectorError on POST http://127.0.0.1:1/api/sessions"."""
    from tests.messaging.conftest import free_port

    with pytest.raises(ValidationError) as caught:
        sender_connect_web_gateway(
            workspace=workspace,
            actor=owner,
            base_url=f"http://127.0.0.1:{free_port()}",
            api_key="secret-gateway-key",
        )

    message = " ".join(caught.value.message_dict["base_url"])
    assert "No gateway answered at this address" in message
    assert "Error" not in message
    assert not Sender.objects.exists()
