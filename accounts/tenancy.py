"""Tenancy: how every tenant-owned row is tied to a workspace and how requests reach only
their own workspace's rows.

Layers, and the gaps each leaves:
- the model layer (`WorkspaceOwned`, `WorkspaceQuerySet.for_workspace`) gives one obvious way to
  scope a query; it does not stop a plain `.objects.filter(pk=...)`, related-object traversal or
  raw SQL, so views never look rows up except through `for_workspace` or a
  `get_<entity>_for_workspace` selector;
- the dashboard layer (`WorkspaceMiddleware` + `workspace_view`) resolves `/w/<slug>/`, checks
  the membership and answers 404 to non-members before any view code runs;
- the API layer (`accounts.api_auth`) fixes the workspace from the API key; `WorkspaceViewSet`
  forbids overriding `get_queryset`, so a viewset can only see `safely_get_queryset(qs)`;
- the isolation test (tests/test_isolation.py) walks every route with another tenant's ids.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable, Iterable
from functools import wraps
from typing import TYPE_CHECKING, Any, TypeVar

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.db import models, transaction
from django.db.models import ProtectedError, RestrictedError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils import timezone

from accounts.permissions import role_has
from accounts.selectors import membership_for_user, workspace_moved_for_member

if TYPE_CHECKING:
    from accounts.models import Membership, User, Workspace

M = TypeVar("M", bound=models.Model)


class WorkspaceQuerySet(models.QuerySet[M]):
    def for_workspace(self, workspace: Workspace | int) -> WorkspaceQuerySet[M]:
        workspace_id = workspace if isinstance(workspace, int) else workspace.pk
        if workspace_id is None:
            raise ValueError("for_workspace() needs a saved workspace")
        return self.filter(workspace_id=workspace_id)


class WorkspaceOwned(models.Model):
    """Base for every tenant-owned model: a workspace FK (indexed) and `for_workspace()`."""

    workspace = models.ForeignKey(
        "accounts.Workspace", on_delete=models.CASCADE, related_name="+", db_index=True
    )

    objects = WorkspaceQuerySet.as_manager()

    class Meta:
        abstract = True


def workspace_rows_delete(
    *, workspace: Workspace, model_classes: Iterable[type[models.Model]]
) -> dict[str, int]:
    """Delete every row of `model_classes` that belongs to `workspace` (through any foreign key to
    the workspace), and return the rows deleted per model label, cascades included.

    A workspace erasure that keeps the workspace row (as a tombstone for billing records) calls
    this per app. Passes repeat so PROTECT chains among them resolve (a campaign protects
    its template: the template goes in the pass after the campaign). Each delete runs in a
    savepoint so a protected one can wait for the next pass. Rows still protected after five
    passes stay; the caller's counts show what went."""
    from accounts.models import Workspace

    counts: dict[str, int] = {}
    targets = [
        (model, field.name)
        for model in model_classes
        if model is not Workspace
        for field in model._meta.concrete_fields
        if field.is_relation and field.related_model is Workspace
    ]
    for _pass in range(5):
        progress = False
        pending = []
        for model, fname in targets:
            qs = model._base_manager.filter(**{fname: workspace})
            try:
                with transaction.atomic():
                    _deleted, per_model = qs.delete()
            except (ProtectedError, RestrictedError):
                pending.append((model, fname))
                continue
            for label, n in per_model.items():
                if n:
                    counts[label] = counts.get(label, 0) + n
                    progress = True
        targets = pending
        if not targets or not progress:
            break
    return counts


def get_for_workspace(model: type[M], *, workspace: Workspace, **lookup: Any) -> M:
    """One 404 for "missing" and "belongs to another workspace": the filter is in the query."""
    return get_object_or_404(model.objects.filter(workspace=workspace), **lookup)  # type: ignore[attr-defined]


def _time_zone_activate(name: str) -> None:
    try:
        timezone.activate(zoneinfo.ZoneInfo(name))
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        timezone.deactivate()  # an unknown zone name shows UTC rather than failing the page


class WorkspaceMiddleware:
    """Sets `request.workspace` and `request.membership` for `/w/<workspace_slug>/...` URLs,
    only after checking that the signed-in user is a member. Non-members get 404 (never 403:
    a 403 would confirm the workspace exists). The workspace's pages show times in its time
    zone, the one its schedules and send windows are typed in."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.workspace = None  # type: ignore[attr-defined]
        request.membership = None  # type: ignore[attr-defined]
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()  # a worker thread's next request starts in UTC

    def process_view(
        self,
        request: HttpRequest,
        view_func: Callable[..., HttpResponse],
        view_args: tuple[Any, ...],
        view_kwargs: dict[str, Any],
    ) -> HttpResponse | None:
        slug = view_kwargs.get("workspace_slug")
        if slug is None:
            return None
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())

        membership = membership_for_user(user=request.user, workspace_slug=slug)
        if membership is None:
            return self._moved(request, slug, view_kwargs)
        request.workspace = membership.workspace  # type: ignore[attr-defined]
        request.membership = membership  # type: ignore[attr-defined]
        request.session["last_workspace"] = slug
        _time_zone_activate(membership.workspace.time_zone)
        return None

    @staticmethod
    def _moved(request: HttpRequest, slug: str, view_kwargs: dict[str, Any]) -> HttpResponse:
        """An old address of a workspace the user belongs to: the same page under the new
        slug (302, not 301: the owner may move back, and a cached 301 would then loop).
        Only reads are redirected; a form posted to an old address is a 404 rather than a
        silent re-post. Everyone else gets the 404 of an unknown slug."""
        if request.method not in ("GET", "HEAD"):
            raise Http404
        workspace = workspace_moved_for_member(user=request.user, old_slug=slug)  # type: ignore[arg-type]
        if workspace is None or request.resolver_match is None:
            raise Http404
        url = reverse(
            request.resolver_match.view_name,
            kwargs={**view_kwargs, "workspace_slug": workspace.slug},
        )
        if query := request.META.get("QUERY_STRING"):
            url = f"{url}?{query}"
        return HttpResponseRedirect(url)


class AuthenticatedRequest(HttpRequest):
    """A request of a signed-in user (`login_required` views)."""

    user: User  # signed in: never AnonymousUser here


class WorkspaceRequest(AuthenticatedRequest):
    """A dashboard request under `/w/<workspace_slug>/`, after `WorkspaceMiddleware` checked
    the membership: views decorated with `workspace_view` take this type."""

    workspace: Workspace
    membership: Membership


def workspace_view(
    perm: str,
) -> Callable[[Callable[..., HttpResponseBase]], Callable[..., HttpResponseBase]]:
    """Decorator for dashboard views under `/w/<workspace_slug>/`: the middleware has already
    resolved the workspace; this checks the role's permission. A member without it gets 403
    (they may know the workspace exists; they may not do this)."""

    def decorator(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
        @wraps(view)
        def wrapper(
            request: HttpRequest, *args: Any, workspace_slug: str, **kwargs: Any
        ) -> HttpResponseBase:
            membership: Membership | None = getattr(request, "membership", None)
            if membership is None:
                raise Http404
            if not role_has(membership.role, perm):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        wrapper.required_perm = perm  # type: ignore[attr-defined]
        return wrapper

    return decorator
