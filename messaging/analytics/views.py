"""Analytics: totals and rates, a daily chart, per-number health, campaign comparison and
failure reasons for a date range, each figure drilling down to the messages behind it, each
table exportable as CSV or XLSX. Figures come from the per-day statistics only."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.http import HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import formats
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET

from accounts.permissions import Perm
from accounts.tenancy import WorkspaceRequest, workspace_view
from core.queries import by_name
from messaging.analytics import selectors as stats
from messaging.analytics.exports import FORMATS, table_download
from messaging.analytics.forms import AnalyticsFilterForm
from messaging.analytics.home import dashboard_home, home_active_campaigns, home_kpis
from messaging.campaigns.models import Campaign
from messaging.content.models import MessageTemplate
from messaging.inbox.selectors import numbers_visible_to
from messaging.numbers.models import Sender

PAGE = 50
XLSX_MAX_ROWS = 100_000
CAMPAIGNS_SHOWN = 20
CAMPAIGNS_MAX = 1000


def _scope(
    request: WorkspaceRequest,
) -> tuple[stats.StatsScope, AnalyticsFilterForm, dict[str, str]]:
    """The scope from the query string; invalid input shows its errors and the default range."""
    workspace = request.workspace
    default = stats.default_scope(workspace=workspace)
    data = request.GET.copy()
    # Shown in the date inputs as the user's language writes dates (dd.mm.yyyy in az/ru).
    data.setdefault("date_from", formats.localize_input(default.date_from))
    data.setdefault("date_to", formats.localize_input(default.date_to))
    form = AnalyticsFilterForm(data, workspace=workspace)
    if not form.is_valid():
        return default, form, {}
    cleaned = form.cleaned_data
    scope = stats.StatsScope(
        date_from=cleaned["date_from"],
        date_to=cleaned["date_to"],
        sender_ids=(cleaned["sender"].pk,) if cleaned["sender"] else (),
        campaign_ids=(cleaned["campaign"].pk,) if cleaned["campaign"] else (),
        template_ids=(cleaned["template"].pk,) if cleaned["template"] else (),
    )
    query = {"date_from": scope.date_from.isoformat(), "date_to": scope.date_to.isoformat()}
    for name in ("sender", "campaign", "template"):
        if cleaned[name]:
            query[name] = str(cleaned[name].public_id)
    return scope, form, query


_FIGURES = (
    ("accepted", _("Sent")),
    ("delivered", _("Delivered")),
    ("read", _("Read")),
    ("replied", _("Replied")),
    ("failed", _("Failed")),
    ("opted_out", _("Opted out")),
)
_RATES = (
    ("delivery_rate", _("Delivery rate")),
    ("read_rate", _("Read rate")),
    ("reply_rate", _("Reply rate")),
    ("failure_rate", _("Failure rate")),
    ("opt_out_rate", _("Opt-out rate")),
)
# "created" counts every message written for a campaign (queued at some point, whatever became
# of it); "pending" is what is queued now. Labelling "created" "Queued" made a finished
# campaign read "Queued 140" here and "Queued 0" on its own page.
_COLUMNS = (
    ("created", _("Messages")),
    ("accepted", _("Sent")),
    ("delivered", _("Delivered")),
    ("read", _("Read")),
    ("replied", _("Replied")),
    ("failed", _("Failed")),
    ("skipped", _("Skipped")),
    ("opted_out", _("Opted out")),
    ("credits_used", _("Credits used")),
)


@workspace_view(Perm.VIEW)
@require_GET
def overview(request: WorkspaceRequest) -> HttpResponse:
    workspace = request.workspace
    scope, form, query = _scope(request)
    totals = stats.stats_totals(workspace=workspace, scope=scope)
    daily = stats.stats_daily(workspace=workspace, scope=scope)
    numbers = stats.stats_by_sender(workspace=workspace, scope=scope)
    export, fmt = request.GET.get("export", ""), request.GET.get("format", "csv")
    show_all = export == "campaigns" or request.GET.get("campaigns") == "all"
    campaigns = stats.stats_by_campaign(
        workspace=workspace, scope=scope, limit=CAMPAIGNS_MAX if show_all else CAMPAIGNS_SHOWN + 1
    )
    more_campaigns = not show_all and len(campaigns) > CAMPAIGNS_SHOWN
    campaigns = campaigns if show_all else campaigns[:CAMPAIGNS_SHOWN]
    failures = stats.stats_failures(workspace=workspace, scope=scope)
    if export and fmt in FORMATS:
        table = _export_table(export, totals, daily, numbers, campaigns, failures)
        if table is not None:
            headers, rows = table
            name = f"isend-{export}-{scope.date_from}-{scope.date_to}"
            return table_download(name=name, headers=headers, rows=rows, fmt=fmt)
    chart = {
        "labels": [row["day"].isoformat() for row in daily],
        "series": [
            {"key": key, "label": str(label), "data": [row[key] for row in daily]}
            for key, label in (
                ("accepted", _("Sent")),
                ("delivered", _("Delivered")),
                ("read", _("Read")),
                ("failed", _("Failed")),
            )
        ],
    }
    # Links are built here once: the tables have hundreds of cells, and a template that
    # assembles each URL from parts costs more than every query of the page together.
    drill = reverse("messaging_analytics:messages", args=[workspace.slug]) + "?" + urlencode(query)
    columns = [key for key, _label in _COLUMNS]

    def cells(row: dict[str, Any], extra: str) -> list[tuple[int, str]]:
        return [(row[key], f"{drill}&metric={key}{extra}") for key in columns]

    for row in daily:
        day = row["day"].isoformat()
        row["cells"] = cells(row, f"&date_from={day}&date_to={day}")
    for row in numbers:
        row["cells"] = cells(row, f"&sender={row['sender'].public_id}")
    for row in campaigns:
        row["cells"] = cells(row, f"&campaign={row['campaign'].public_id}")
    return render(
        request,
        "messaging/analytics/overview.html",
        {
            "form": form,
            "filter_choices": _filter_choices(workspace, form),
            "drill": drill,
            "more_campaigns": more_campaigns,
            "scope": scope,
            "query": urlencode(query),
            "totals": totals,
            "figures": [(key, label, totals[key]) for key, label in _FIGURES],
            "rates": [(key, label, totals[key]) for key, label in _RATES],
            "columns": _COLUMNS,
            "daily": daily,
            "numbers": numbers,
            "campaigns": campaigns,
            "failures": failures,
            "chart": chart,
            "tables": (
                ("totals", _("Totals")),
                ("daily", _("Daily")),
                ("numbers", _("Numbers")),
                ("campaigns", _("Campaigns")),
                ("failures", _("Failure reasons")),
            ),
        },
    )


FILTER_OPTIONS_MAX = 100


def _filter_choices(workspace: Any, form: AnalyticsFilterForm) -> dict[str, Any]:
    """Options for the filter selects, drawn by a plain loop (Django's widget templates cost
    ~0.4 ms an option): numbers and templates, and the most recent campaigns plus the one
    chosen. Validation still accepts any of the workspace's campaigns."""
    selected = {name: str(form.data.get(name) or "") for name in ("sender", "campaign", "template")}
    campaigns = list(
        Campaign.objects.for_workspace(workspace)
        .order_by("-created_at")
        .values_list("public_id", "name")[:FILTER_OPTIONS_MAX]
    )
    chosen = form.cleaned_data.get("campaign") if form.is_valid() else None
    if chosen is not None and chosen.public_id not in {p for p, _n in campaigns}:
        campaigns.append((chosen.public_id, chosen.name))
    return {
        "selected": selected,
        "sender": [
            (str(p), phone or label)
            for p, phone, label in Sender.objects.for_workspace(workspace)
            .order_by("id")
            .values_list("public_id", "phone_number", "label")
        ],
        "campaign": [(str(p), name) for p, name in campaigns],
        "template": [
            (str(p), name)
            for p, name in MessageTemplate.objects.for_workspace(workspace)
            .order_by(by_name())
            .values_list("public_id", "name")
        ],
    }


def _export_table(
    export: str,
    totals: dict[str, Any],
    daily: list[dict[str, Any]],
    numbers: list[dict[str, Any]],
    campaigns: list[dict[str, Any]],
    failures: list[dict[str, Any]],
) -> tuple[list[Any], list[list[Any]]] | None:
    figures = [key for key, _label in _COLUMNS]
    figure_labels = [str(label) for _key, label in _COLUMNS]
    rates = [key for key, _label in _RATES]
    rate_labels = [f"{label} (%)" for _key, label in _RATES]
    headers: list[Any]
    if export == "totals":
        headers = [_("Figure"), _("Value")]
        rows = [[label, totals[key]] for key, label in (*_COLUMNS, *_RATES)]
        return headers, rows
    if export == "daily":
        headers = [_("Day"), *figure_labels, *rate_labels]
        return headers, [
            [r["day"], *(r[k] for k in figures), *(r[k] for k in rates)] for r in daily
        ]
    if export == "numbers":
        headers = [
            _("Number"),
            _("Status"),
            _("Quality"),
            _("Used today"),
            _("Daily cap"),
            *figure_labels,
            *rate_labels,
        ]
        return headers, [
            [
                r["sender"].phone_number or r["sender"].label,
                r["sender"].get_status_display(),
                r["sender"].get_quality_display(),
                r["used_today"],
                r["sender"].daily_cap,
                *(r[k] for k in figures),
                *(r[k] for k in rates),
            ]
            for r in numbers
        ]
    if export == "campaigns":
        headers = [_("Campaign"), _("Status"), _("Template"), *figure_labels, *rate_labels]
        return headers, [
            [
                r["campaign"].name,
                r["campaign"].get_status_display(),
                r["campaign"].content_name,
                *(r[k] for k in figures),
                *(r[k] for k in rates),
            ]
            for r in campaigns
        ]
    if export == "failures":
        headers = [_("Reason"), _("Messages"), _("What to do")]
        return headers, [[r["label"], r["count"], r["advice"]] for r in failures]
    return None


_METRIC_LABELS = {
    "created": _("Messages"),
    "pending": _("Waiting to send"),
    "accepted": _("Sent"),
    "sent": _("Reported sent"),
    "delivered": _("Delivered"),
    "read": _("Read"),
    "replied": _("Replied"),
    "opted_out": _("Opted out"),
    "failed": _("Failed"),
    "skipped": _("Skipped"),
    "cancelled": _("Cancelled or expired"),
    "credits_used": _("Charged"),
    **{name: label for name, (label, _advice) in stats.FAILURE_ADVICE.items()},
}


@workspace_view(Perm.VIEW)
@require_GET
def messages(request: WorkspaceRequest) -> HttpResponse:
    """The messages (or their contacts) behind one figure of the analytics page."""
    workspace = request.workspace
    scope, form, query = _scope(request)
    metric = request.GET.get("metric", "accepted")
    if metric not in stats.DRILL_METRICS:
        metric = "accepted"
    qs = stats.drill_messages(workspace=workspace, scope=scope, metric=metric)
    export, fmt = request.GET.get("export", ""), request.GET.get("format", "csv")
    if export in ("messages", "contacts") and fmt in FORMATS:
        return _export_drill(qs, export, fmt, metric)
    before = request.GET.get("before", "")
    page_qs = qs.select_related("campaign", "sender", "contact")
    if before.isdigit():
        page_qs = page_qs.filter(id__lt=int(before))
    rows = list(page_qs.order_by("-id")[: PAGE + 1])
    return render(
        request,
        "messaging/analytics/messages.html",
        {
            "form": form,
            "scope": scope,
            "metric": metric,
            "filter_choices": _filter_choices(workspace, form),
            "metric_label": _METRIC_LABELS[metric],
            "metrics": [(name, _METRIC_LABELS[name]) for name in stats.DRILL_METRICS],
            "query": urlencode(query),
            "rows": rows[:PAGE],
            "older": rows[PAGE - 1].id if len(rows) > PAGE else None,
        },
    )


def _export_drill(qs: Any, export: str, fmt: str, metric: str) -> HttpResponse:
    limit = XLSX_MAX_ROWS if fmt == "xlsx" else None
    if export == "contacts":
        contacts = (
            qs.filter(contact__isnull=False)
            .order_by("contact_id")
            .distinct("contact_id")
            .values_list("contact__phone", "contact__first_name", "contact__last_name")
        )
        rows = contacts[:limit] if limit else contacts.iterator(chunk_size=2000)
        return table_download(
            name=f"isend-contacts-{metric}",
            headers=[_("Phone"), _("First name"), _("Last name")],
            rows=rows,
            fmt=fmt,
        )
    values = qs.order_by("-id").values_list(
        "public_id",
        "phone",
        "campaign__name",
        "sender__phone_number",
        "status",
        "error_code",
        "error_title",
        "created_at",
        "accepted_at",
        "delivered_at",
        "read_at",
    )
    source = values[:limit] if limit else values.iterator(chunk_size=2000)
    rows = ([str(v[0]), *v[1:7], *(t.isoformat() if t else "" for t in v[7:])] for v in source)
    return table_download(
        name=f"isend-messages-{metric}",
        headers=[
            _("Message"),
            _("Phone"),
            _("Campaign"),
            _("Number"),
            _("Status"),
            _("Error code"),
            _("Error"),
            _("Queued at"),
            _("Sent at"),
            _("Delivered at"),
            _("Read at"),
        ],
        rows=rows,
        fmt=fmt,
    )


@workspace_view(Perm.VIEW)
def home(request: WorkspaceRequest) -> HttpResponse:
    """The workspace's dashboard home: the week's figures, campaigns in flight, credits,
    number health, recent replies and the get-started checklist."""
    return render(
        request,
        "messaging/analytics/home.html",
        dashboard_home(workspace=request.workspace, senders=numbers_visible_to(request.membership)),
    )


@workspace_view(Perm.VIEW)
def home_kpis_part(request: WorkspaceRequest) -> HttpResponse:
    """The home page's figures of the week, polled by htmx (faster while campaigns move)."""
    workspace = request.workspace
    return render(
        request,
        "messaging/analytics/_home_kpis.html",
        {**home_kpis(workspace=workspace), **home_active_campaigns(workspace=workspace)},
    )


@workspace_view(Perm.VIEW)
def home_campaigns(request: WorkspaceRequest) -> HttpResponse:
    """The home page's campaigns in flight, polled by htmx while any of them moves."""
    return render(
        request,
        "messaging/analytics/_home_campaigns.html",
        home_active_campaigns(workspace=request.workspace),
    )
