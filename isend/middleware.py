"""Headers that Django's SecurityMiddleware does not set, the API request log, and the refusal
of NUL characters in dashboard input, and API bodies over the size limit as JSON 413s."""

import time
from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import BadRequest, RequestDataTooBig
from django.http import HttpRequest, HttpResponse, JsonResponse, QueryDict
from django.utils.translation import gettext as _

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


FORM_CONTENT_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def _holds_null(values: QueryDict) -> bool:
    return any("\x00" in key or any("\x00" in v for v in vs) for key, vs in values.lists())


class RejectNullCharactersMiddleware:
    """A NUL character in a dashboard request's query or form values is a 400 before any view
    runs. PostgreSQL can neither store nor compare text holding one, so a view that passed it
    on to a query answered 500 (the inbox's search, notes, labels and canned replies, opt-in,
    the activity filter...). No real input has one; Django's form fields refuse it as well.
    The API is left to DRF: its fields refuse NUL with field errors, and its JSON bodies go
    through `core.api.JSONParser`."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not request.path.startswith("/api/") and (
            _holds_null(request.GET)
            or (
                request.method == "POST"
                and request.content_type in FORM_CONTENT_TYPES
                and _holds_null(request.POST)
            )
        ):
            raise BadRequest("A NUL character in the request's parameters.")
        return self.get_response(request)


class ApiBodyTooLargeMiddleware:
    """An API body over Django's DATA_UPLOAD_MAX_MEMORY_SIZE is a JSON 413 saying the limit,
    before it is read: it was Django's HTML 400 page (an API client parses JSON), sent while the
    client was still writing the body. Uploads (multipart) are limited by their own checks."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def _too_large(self) -> JsonResponse:
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        return JsonResponse(
            {
                "detail": _("The request body is too large: at most %(n)s bytes.")
                % {"n": f"{limit:,}"}
            },
            status=413,
        )

    def __call__(self, request: HttpRequest) -> HttpResponse:
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if request.path.startswith("/api/") and limit is not None:
            content_type = request.META.get("CONTENT_TYPE", "")
            try:
                length = int(request.META.get("CONTENT_LENGTH") or 0)
            except ValueError:
                length = 0
            if length > limit and not content_type.startswith("multipart/form-data"):
                return self._too_large()
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if request.path.startswith("/api/") and isinstance(exception, RequestDataTooBig):
            return self._too_large()
        return None
