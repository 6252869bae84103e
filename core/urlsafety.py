"""Outgoing HTTP to a URL a user typed must not reach our own network (SSRF): private,
loopback, link-local and reserved addresses are refused unless settings allow them."""

from __future__ import annotations

import socket
from urllib.parse import urlparse

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from core.outgoing import address_is_public


def ensure_public_url(url: str) -> str:
    """Return the URL if it is http(s) and every address its host resolves to is public."""
    parsed = urlparse(url)
    if parsed.scheme not in {"http", "https"} or not parsed.hostname:
        raise ValidationError(_("Enter a full http:// or https:// address."))
    if settings.ALLOW_PRIVATE_WEBHOOK_URLS:
        return url
    try:
        infos = socket.getaddrinfo(parsed.hostname, parsed.port or 443, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise ValidationError(
            _("The host %(host)s does not resolve.") % {"host": parsed.hostname}
        ) from exc
    for info in infos:
        if not address_is_public(str(info[4][0])):
            raise ValidationError(
                _("%(host)s resolves to a private or local address, which is not allowed.")
                % {"host": parsed.hostname}
            )
    return url
