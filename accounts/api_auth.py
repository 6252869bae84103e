"""The API's tenancy gate: an API key fixes the workspace; scopes gate each method.

Kept free of `rest_framework.views`/`viewsets` imports: DRF imports this module while loading
its own settings, and the viewset bases live in `accounts.api_base`."""

from __future__ import annotations

import logging
from typing import Any

from redis.exceptions import RedisError
from rest_framework import exceptions, permissions
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle

from accounts.models import ApiKey, Workspace
from accounts.permissions import scope_granted
from accounts.services import api_key_authenticate

logger = logging.getLogger(__name__)


class ApiKeyPrincipal:
    """Stands in for `request.user` on API requests: the actor is the key, not a person."""

    is_authenticated = True
    is_anonymous = False
    is_active = True
    is_staff = False

    def __init__(self, api_key: ApiKey) -> None:
        self.api_key = api_key
        self.pk = None

    def __str__(self) -> str:
        return f"API key {self.api_key.prefix}"


class ApiKeyAuthentication(BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request: Request) -> tuple[ApiKeyPrincipal, ApiKey] | None:
        header = get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("Malformed Authorization header.")
        try:
            secret = header[1].decode()
        except UnicodeError as exc:
            raise exceptions.AuthenticationFailed("Malformed API key.") from exc
        key = api_key_authenticate(secret=secret)
        if key is None:
            raise exceptions.AuthenticationFailed("Invalid, expired or revoked API key.")
        request.workspace = key.workspace  # type: ignore[attr-defined]
        # Seen by ApiRequestLogMiddleware, which works on Django's request, not DRF's.
        request._request.api_key = key  # type: ignore[attr-defined]
        return ApiKeyPrincipal(key), key

    def authenticate_header(self, request: Request) -> str:
        return f'{self.keyword} realm="api"'


def request_workspace(request: Request) -> Workspace:
    key = request.auth
    if not isinstance(key, ApiKey):
        raise exceptions.NotAuthenticated()
    return key.workspace


class HasWorkspaceApiKey(permissions.BasePermission):
    """A valid key, the scope the view's `scope_map` asks for this method, and a workspace that
    is not suspended (403 carrying the suspension reason)."""

    def has_permission(self, request: Request, view: Any) -> bool:
        key = request.auth
        if not isinstance(key, ApiKey):
            raise exceptions.NotAuthenticated()
        scope_map: dict[str, str] = getattr(view, "scope_map", {})
        required = scope_map.get(request.method or "GET")
        if required is None:
            raise exceptions.MethodNotAllowed(request.method or "")
        if not scope_granted(list(key.scopes), required):
            raise exceptions.PermissionDenied(f"This API key lacks the '{required}' scope.")
        workspace = key.workspace
        if workspace.is_suspended:
            raise exceptions.PermissionDenied(
                f"This workspace is suspended: {workspace.suspended_reason}"
            )
        return True


class ApiKeyRateThrottle(SimpleRateThrottle):
    """Per key (else per IP). Its counters live in the cache (Redis): when the cache cannot be
    reached the request is let through with a warning, never answered 500; a short outage
    costs a little rate limiting, not the integrators' requests."""

    scope = "api_key"

    def allow_request(self, request: Request, view: Any) -> bool:
        try:
            return super().allow_request(request, view)
        except (OSError, RedisError) as exc:  # ConnectionError is an OSError
            logger.warning("API rate limit not applied, the cache is unreachable: %s", exc)
            return True

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        if isinstance(request.auth, ApiKey):
            return self.cache_format % {"scope": self.scope, "ident": request.auth.prefix}
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}
