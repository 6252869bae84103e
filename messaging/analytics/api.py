"""Statistics over the API: the same figures as the analytics page (one selector module feeds
both), for a date range and filters, as totals or grouped by day, number or campaign."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api_auth import request_workspace
from accounts.api_base import read_scope_map
from messaging.analytics import selectors as stats
from messaging.analytics.forms import AnalyticsFilterForm
from messaging.engine.stats import COUNTERS

_RATES = ("delivery_rate", "read_rate", "reply_rate", "failure_rate", "opt_out_rate")
GROUPS = ("none", "day", "number", "campaign")


class FiguresSerializer(serializers.Serializer):
    """Counts and rates (percent, null when the base is zero)."""

    def to_representation(self, instance: dict[str, Any]) -> dict[str, Any]:
        figures = {name: instance[name] for name in (*COUNTERS, "failed")}
        figures.update({name: instance[name] for name in _RATES})
        return figures


# What each count counts, for the schema (docs/api.md says the same). The dashboard and the
# analytics page call `accepted` "Sent"; `sent` is the narrower figure the gateway confirmed.
FIGURE_HELP = {
    "created": "Messages written for a campaign in the period (every recipient messaged, "
    'whatever became of the message). The analytics page calls it "Messages".',
    "pending": "Of those, messages still queued, sending or awaiting confirmation.",
    "accepted": "Messages the gateway accepted (credits consumed). This is the figure the "
    'dashboard and the analytics page call "Sent".',
    "sent": "Of the accepted messages, those whose latest status from the gateway is sent, "
    "delivered or read. Lower than `accepted` while statuses are outstanding or when "
    'messages failed after acceptance; not the dashboard\'s "Sent" (that is `accepted`).',
    "delivered": "Messages delivered (or read) on the recipient's phone.",
    "read": "Messages read.",
    "replied": "Messages the recipient replied to.",
    "opted_out": "Recipients who opted out after a message.",
    "failed_recipient": "Failed: invalid number or the recipient blocks marketing.",
    "failed_content": "Failed: the request or template was rejected.",
    "failed_temporary": "Failed: retries exhausted.",
    "failed_sender": "Failed: the number was banned, restricted or logged out.",
    "failed_other": "Failed for another reason.",
    "failed": "All failed messages (the sum of the failed_* figures).",
    "skipped": "Messages not sent: opted out or suppressed before sending.",
    "cancelled": "Messages cancelled or expired before sending.",
    "credits_used": "Credits charged: accepted messages that did not fail afterwards.",
}


def _figures_schema() -> serializers.Serializer:
    fields: dict[str, serializers.Field] = {
        name: serializers.IntegerField(help_text=FIGURE_HELP[name])
        for name in (*COUNTERS, "failed")
    }
    fields.update({name: serializers.FloatField(allow_null=True) for name in _RATES})
    return type("Figures", (serializers.Serializer,), fields)()


class StatsResponseSerializer(serializers.Serializer):
    date_from = serializers.DateField()
    date_to = serializers.DateField()
    time_zone = serializers.CharField()
    totals = _figures_schema()
    groups = serializers.ListField(child=serializers.DictField(), required=False)


class StatsView(APIView):
    scope_map = read_scope_map("stats")

    @extend_schema(
        summary="Sending statistics",
        description=(
            "Figures counted per day in the workspace's time zone, by the day each event "
            "happened (sent, delivered, read, replied, failed...). The same figures as the "
            "analytics page. `group_by` adds rows per day, number or campaign. What the "
            "dashboard calls Sent is `accepted`; `sent` counts only messages the gateway "
            "reported sent, delivered or read."
        ),
        parameters=[
            OpenApiParameter("date_from", str, description="YYYY-MM-DD (default: 29 days ago)"),
            OpenApiParameter("date_to", str, description="YYYY-MM-DD (default: today)"),
            OpenApiParameter("sender", str, description="a number's id"),
            OpenApiParameter("campaign", str, description="a campaign's id"),
            OpenApiParameter("template", str, description="a template's id"),
            OpenApiParameter("group_by", str, enum=GROUPS, required=False),
        ],
        responses=StatsResponseSerializer,
    )
    def get(self, request: Request) -> Response:
        workspace = request_workspace(request)
        default = stats.default_scope(workspace=workspace)
        data = {
            "date_from": request.query_params.get("date_from", default.date_from.isoformat()),
            "date_to": request.query_params.get("date_to", default.date_to.isoformat()),
            **{
                name: request.query_params[name]
                for name in ("sender", "campaign", "template")
                if name in request.query_params
            },
        }
        group_by = request.query_params.get("group_by", "none")
        form = AnalyticsFilterForm(data, workspace=workspace)
        errors: dict[str, list[str]] = {}
        if not form.is_valid():
            errors.update({field: [str(e) for e in errs] for field, errs in form.errors.items()})
        if group_by not in GROUPS:
            errors["group_by"] = [f"One of: {', '.join(GROUPS)}."]
        if errors:
            raise ValidationError(errors)
        cleaned = form.cleaned_data
        scope = stats.StatsScope(
            date_from=cleaned["date_from"],
            date_to=cleaned["date_to"],
            sender_ids=(cleaned["sender"].pk,) if cleaned["sender"] else (),
            campaign_ids=(cleaned["campaign"].pk,) if cleaned["campaign"] else (),
            template_ids=(cleaned["template"].pk,) if cleaned["template"] else (),
        )
        figures = FiguresSerializer()
        body: dict[str, Any] = {
            "date_from": scope.date_from,
            "date_to": scope.date_to,
            "time_zone": workspace.time_zone,
            "totals": figures.to_representation(
                stats.stats_totals(workspace=workspace, scope=scope)
            ),
        }
        if group_by == "day":
            body["groups"] = [
                {"day": row["day"].isoformat(), **figures.to_representation(row)}
                for row in stats.stats_daily(workspace=workspace, scope=scope)
            ]
        elif group_by == "number":
            body["groups"] = [
                {
                    "sender": str(row["sender"].public_id),
                    "phone_number": row["sender"].phone_number,
                    "status": row["sender"].status,
                    "used_today": row["used_today"],
                    "daily_cap": row["sender"].daily_cap,
                    **figures.to_representation(row),
                }
                for row in stats.stats_by_sender(workspace=workspace, scope=scope)
            ]
        elif group_by == "campaign":
            body["groups"] = [
                {
                    "campaign": str(row["campaign"].public_id),
                    "name": row["campaign"].name,
                    "status": row["campaign"].status,
                    **figures.to_representation(row),
                }
                for row in stats.stats_by_campaign(workspace=workspace, scope=scope)
            ]
        return Response(body)
