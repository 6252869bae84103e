"""The appeal pack of a blocked number (issue #21): a ZIP with a PDF summary (ReportLab, the
bundled DejaVu font, so Azerbaijani letters print) and CSVs, to support an appeal to WhatsApp:

- `consent_sources.csv`: every contact this number messaged, with its consent source and time;
- `opt_outs.csv`: the contacts who opted out, when, how, and how many messages this number sent
  them afterwards (0 shows the opt-out was honoured at once);
- `pacing_log.csv`: the number's sends per day (accepted, delivered, read, failed, opted out);
- `text_diversity.csv`: per campaign, its variants and how many distinct texts were sent;
- `message_samples.csv`: a few texts as recipients received them (phones masked).

Only the number's own workspace's rows are read (every query filters by the workspace and the
number); building it is audited as an export. Text cells go through core's formula rule (names,
campaign names and texts are the workspace's or its contacts' input)."""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.db.models import Count, OuterRef, Q, Subquery, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table

from accounts.models import User, Workspace
from accounts.services import audit_record
from billing.pdf import FONT, FONT_BOLD, FONT_DIR
from core.spreadsheets import formula_safe
from messaging.analytics.models import MessageStat
from messaging.campaigns.models import Campaign, Message
from messaging.contacts.models import Contact
from messaging.numbers.models import Sender

SAMPLES = 20


def _fonts() -> None:
    if FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont(FONT, str(FONT_DIR / "DejaVuSans.ttf")))
        pdfmetrics.registerFont(TTFont(FONT_BOLD, str(FONT_DIR / "DejaVuSans-Bold.ttf")))


def _csv(header: list[str], rows: Iterable[Iterable[Any]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    for row in rows:
        writer.writerow(["" if v is None else v for v in row])
    return out.getvalue().encode("utf-8")


def _mask(phone: str) -> str:
    return phone[:4] + "*" * max(len(phone) - 6, 0) + phone[-2:] if len(phone) > 6 else "***"


def _iso(value: datetime | None) -> str:
    return value.isoformat() if value else ""


def appeal_pack_build(*, workspace: Workspace, sender: Sender, actor: User | None) -> bytes:
    """The ZIP's bytes. Raises ValueError for a number of another workspace."""
    if sender.workspace_id != workspace.pk:
        raise ValueError("sender of another workspace")
    messages = Message.objects.filter(workspace=workspace, sender=sender)
    contacts = Contact.objects.for_workspace(workspace).filter(
        id__in=messages.filter(contact__isnull=False).values("contact_id")
    )
    consent = contacts.values_list(
        "phone", "first_name", "last_name", "consent_source", "consent_at", "created_via"
    ).order_by("id")
    consent_counts = contacts.aggregate(
        total=Count("id"), with_source=Count("id", filter=~Q(consent_source=""))
    )
    # Messages this number sent a contact after its opt-out, counted in the same query.
    after = (
        messages.filter(contact_id=OuterRef("pk"), accepted_at__gt=OuterRef("opted_out_at"))
        .values("contact_id")
        .annotate(n=Count("id"))
        .values("n")
    )
    opted = contacts.filter(opted_out_at__isnull=False).annotate(after=Coalesce(Subquery(after), 0))
    opt_rows = [
        (c.phone, _iso(c.opted_out_at), c.opt_out_source, c.after) for c in opted.order_by("id")
    ]
    pacing = list(
        MessageStat.objects.filter(workspace=workspace, sender=sender)
        .values("day")
        .annotate(
            accepted=Sum("accepted"),
            delivered=Sum("delivered"),
            read=Sum("read"),
            failures=Sum("failed_recipient")
            + Sum("failed_content")
            + Sum("failed_temporary")
            + Sum("failed_sender")
            + Sum("failed_other"),
            opted_out=Sum("opted_out"),
        )
        .order_by("day")
    )
    per_campaign = {
        row["campaign_id"]: row
        for row in messages.filter(campaign__isnull=False)
        .values("campaign_id")
        .annotate(n=Count("id"), texts=Count("body", distinct=True, filter=~Q(body="")))
    }
    campaigns = (
        Campaign.objects.for_workspace(workspace)
        .filter(pk__in=list(per_campaign))
        .select_related("template", "whatsapp_template")
        .order_by("created_at")
    )
    diversity = [
        (
            c.name,
            c.content_name,
            len(c.template.variants) if c.template else 1,
            per_campaign[c.pk]["texts"],
            per_campaign[c.pk]["n"],
        )
        for c in campaigns
    ]
    samples = list(
        messages.exclude(body="")
        .order_by("-id")
        .values_list("phone", "body", "accepted_at")[:SAMPLES]
    )
    files = {
        "consent_sources.csv": _csv(
            ["phone", "first_name", "last_name", "consent_source", "consent_at", "created_via"],
            (
                (p, formula_safe(f), formula_safe(last), formula_safe(s), _iso(at), via)
                for p, f, last, s, at, via in consent
            ),
        ),
        "opt_outs.csv": _csv(
            ["phone", "opted_out_at", "source", "messages_from_this_number_after_opt_out"],
            ((p, at, formula_safe(source), n) for p, at, source, n in opt_rows),
        ),
        "pacing_log.csv": _csv(
            ["day", "accepted", "delivered", "read", "failed", "opted_out"],
            (
                (
                    r["day"].isoformat(),
                    r["accepted"],
                    r["delivered"],
                    r["read"],
                    r["failures"],
                    r["opted_out"],
                )
                for r in pacing
            ),
        ),
        "text_diversity.csv": _csv(
            ["campaign", "content", "variants", "distinct_texts_sent", "messages"],
            (
                (formula_safe(name), formula_safe(content), *counts)
                for name, content, *counts in diversity
            ),
        ),
        "message_samples.csv": _csv(
            ["phone", "text", "sent_at"],
            ((_mask(p), formula_safe(b), _iso(at)) for p, b, at in samples),
        ),
    }
    files["appeal_summary.pdf"] = _pdf(
        workspace=workspace,
        sender=sender,
        contacts=consent_counts,
        opt_outs=len(opt_rows),
        honoured=sum(1 for row in opt_rows if row[3] == 0),
        days=len(pacing),
        diversity=diversity,
        samples=[b for _p, b, _at in samples[:5]],
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    audit_record(
        workspace=workspace,
        action="number.appeal_pack_exported",
        actor=actor,
        target=sender,
        details={"contacts": consent_counts["total"], "opt_outs": len(opt_rows)},
    )
    return buffer.getvalue()


def _pdf(
    *,
    workspace: Workspace,
    sender: Sender,
    contacts: dict[str, int],
    opt_outs: int,
    honoured: int,
    days: int,
    diversity: list[tuple[Any, ...]],
    samples: list[str],
) -> bytes:
    _fonts()
    body = ParagraphStyle("body", fontName=FONT, fontSize=10, leading=14)
    title = ParagraphStyle("title", fontName=FONT_BOLD, fontSize=15, leading=20)
    head = ParagraphStyle("head", fontName=FONT_BOLD, fontSize=11, leading=16)

    def p(text: str, style: ParagraphStyle = body) -> Paragraph:
        return Paragraph(
            (text or "").replace("&", "&amp;").replace("<", "&lt;").replace("\n", "<br/>"), style
        )

    buffer = io.BytesIO()
    doc = SimpleDocTemplate(buffer, pagesize=A4, title=_("Appeal pack"))
    total, with_source = contacts["total"] or 0, contacts["with_source"] or 0
    story: list[Any] = [
        p(_("Appeal pack for the WhatsApp number %(n)s") % {"n": sender.phone_number}, title),
        p(
            _("Business: %(ws)s. Provider: %(provider)s. Status: %(status)s (%(reason)s).")
            % {
                "ws": workspace.name,
                "provider": sender.get_provider_display(),
                "status": sender.get_status_display(),
                "reason": sender.status_reason or "-",
            }
        ),
        p(_("Prepared on %(d)s.") % {"d": timezone.now().strftime("%Y-%m-%d %H:%M UTC")}),
        Spacer(1, 8),
        p(_("Consent"), head),
        p(
            ngettext(
                "This number messaged %(total)d contact; with a recorded consent source: "
                "%(with)d (see consent_sources.csv).",
                "This number messaged %(total)d contacts; %(with)d of them have a recorded "
                "consent source (see consent_sources.csv).",
                total,
            )
            % {"total": total, "with": with_source}
        ),
        p(_("Opt-outs"), head),
        p(
            ngettext(
                "%(n)d contact opted out; sent no further message from this number after "
                "opting out: %(ok)d (opt_outs.csv).",
                "%(n)d contacts opted out; %(ok)d of them received no further message from this "
                "number after opting out (opt_outs.csv).",
                opt_outs,
            )
            % {"n": opt_outs, "ok": honoured}
        ),
        p(_("Pacing"), head),
        p(
            _(
                "Limits: %(rate)d messages per second, at least %(gap)d ms between messages, a "
                "daily cap of %(cap)d. Sends per day over %(days)d days are in pacing_log.csv."
            )
            % {
                "rate": sender.throughput_per_second,
                "gap": sender.min_interval_ms,
                "cap": sender.daily_cap,
                "days": days,
            }
        ),
        p(_("Text diversity"), head),
    ]
    rows = [[p(_("Campaign")), p(_("Variants")), p(_("Distinct texts")), p(_("Messages"))]]
    rows += [[p(str(d[0])), p(str(d[2])), p(str(d[3])), p(str(d[4]))] for d in diversity[:30]]
    story.append(Table(rows, colWidths=[220, 70, 90, 80]))
    story.append(p(_("Message samples"), head))
    story += [p("“" + text + "”") for text in samples]
    doc.build(story)
    return buffer.getvalue()
