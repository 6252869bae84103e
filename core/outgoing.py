"""The one client for outgoing HTTP to addresses users type (gateways, the Cloud API base,
outgoing webhooks): DESIGN.md, "Outgoing HTTP to user-supplied URLs".

Three rules, each closing a way in (issue 17, F3):
- **checked per connection**: every new connection resolves the host and refuses it when any
  resolved address is loopback, private, link-local, multicast, reserved or unspecified (so a
  name re-pointed after an earlier check, DNS rebinding, is caught at connect time);
- **pinned**: the connection is made to exactly the addresses that were checked (aiohttp
  connects to what the resolver returned; the DNS cache is off, so there is no second lookup
  that could answer differently), while the Host header and TLS SNI keep the name;
- **no redirects**: requests are made with ``allow_redirects=False`` and a 3xx is an error the
  caller shows, so a server cannot bounce the request, and its credentials, elsewhere.

Plain Python and aiohttp, no Django: the gateways (which may not import Django) use it too;
callers pass the policy built from settings (``ALLOW_PRIVATE_WEBHOOK_URLS`` lets loopback and
private addresses through for development and the test sandbox).
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp.resolver import ThreadedResolver


class RefusedAddress(OSError):
    """The host resolves to an address outgoing requests must not reach."""


def address_is_public(address: str) -> bool:
    """True for a globally routable unicast address (the only kind users' URLs may reach)."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


@dataclass(frozen=True, slots=True)
class AddressPolicy:
    """Which addresses a connection may reach.

    ``allow_private`` lets everything through (development, the test sandbox on loopback).
    ``trusted_hosts`` are host names the operator configured (the sandbox, the Graph URL):
    never a user's input, so they may live on the private network."""

    allow_private: bool = False
    trusted_hosts: frozenset[str] = field(default_factory=frozenset)

    def allows(self, address: str, *, host: str = "") -> bool:
        if self.allow_private or (host and host.lower() in self.trusted_hosts):
            return True
        return address_is_public(address)


class CheckedResolver(ThreadedResolver):
    """Resolves like aiohttp's default, then refuses the host if any address is not allowed.
    aiohttp connects to the addresses returned here, so the check and the connection agree."""

    def __init__(self, policy: AddressPolicy) -> None:
        super().__init__()
        self.policy = policy

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[Any]:
        hosts = await super().resolve(host, port, family)
        for item in hosts:
            if not self.policy.allows(item["host"], host=host):
                raise RefusedAddress(
                    f"{host} resolves to a private or local address, which is not allowed"
                )
        return hosts


def checked_connector(policy: AddressPolicy, *, limit: int = 100) -> aiohttp.TCPConnector:
    """A connector that resolves, checks and pins every new connection (no DNS cache)."""
    return aiohttp.TCPConnector(resolver=CheckedResolver(policy), use_dns_cache=False, limit=limit)


def refused_cause(exc: BaseException) -> RefusedAddress | None:
    """The :class:`RefusedAddress` behind an aiohttp connection error, if that was the cause."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, RefusedAddress):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


def is_redirect(status: int) -> bool:
    return 300 <= status < 400
