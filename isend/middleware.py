"""Headers that Django's SecurityMiddleware does not set."""

import time
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from accounts.models import ApiRequestLog

DOCS_CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
    "script-src 'self' 'unsafe-inline'; connect-src 'self'; frame-ancestors 'none'"
)


class SecurityHeadersMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        # Swagger UI's page uses an inline script; it gets a policy of its own.
        if request.path.startswith("/api/v1/docs"):
            response.headers.setdefault("Content-Security-Policy", DOCS_CSP)
        elif settings.CONTENT_SECURITY_POLICY:
            response.headers.setdefault("Content-Security-Policy", settings.CONTENT_SECURITY_POLICY)
        response.headers.setdefault(
            "Permissions-Policy", "camera=(), microphone=(), geolocation=()"
        )
        return response


class ApiRequestLogMiddleware:
    """Log every request authenticated with an API key (method, path, status, time)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.monotonic()
        response = self.get_response(request)
        key = getattr(request, "api_key", None)
        if key is not None:
            ApiRequestLog.objects.create(
                workspace_id=key.workspace_id,
                api_key=key,
                method=request.method or "",
                path=request.path[:300],
                status=response.status_code,
                duration_ms=int((time.monotonic() - started) * 1000),
                ip=request.META.get("REMOTE_ADDR") or None,
            )
        return response
