"""Invoice PDFs with ReportLab. The DejaVu Sans font is bundled (billing/fonts/) because the
built-in PDF fonts have no glyphs for Azerbaijani letters such as "ə"."""

from __future__ import annotations

from decimal import Decimal
from io import BytesIO
from pathlib import Path

from django.utils import formats
from django.utils.translation import gettext as _
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from billing.models import Invoice
from billing.money import format_money

FONT_DIR = Path(__file__).resolve().parent / "fonts"
FONT = "DejaVuSans"
FONT_BOLD = "DejaVuSans-Bold"


def _register_fonts() -> None:
    if FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont(FONT, str(FONT_DIR / "DejaVuSans.ttf")))
        pdfmetrics.registerFont(TTFont(FONT_BOLD, str(FONT_DIR / "DejaVuSans-Bold.ttf")))


def _money(amount: Decimal | str, currency: str) -> str:
    # DejaVu Sans has no glyph for "₼": the PDFs write the currency's code ("1 234,56 AZN").
    return format_money(amount, currency, sign=False)


def _text(value: str) -> str:
    return (value or "").replace("&", "&amp;").replace("<", "&lt;").replace("\n", "<br/>")


def invoice_pdf(invoice: Invoice) -> bytes:
    """Render one invoice to PDF bytes, in the active language (the requesting user's): its
    words, its date and its amounts ("1 234,56 ₼" in Azerbaijani and Russian)."""
    _register_fonts()
    body = ParagraphStyle("body", fontName=FONT, fontSize=10, leading=14)
    title = ParagraphStyle("title", fontName=FONT_BOLD, fontSize=16, leading=20)
    buffer = BytesIO()
    doc = SimpleDocTemplate(buffer, pagesize=A4, title=invoice.number, author=invoice.seller_name)
    cur = invoice.currency
    parties = Table(
        [
            [Paragraph(f"<b>{_('Seller')}</b>", body), Paragraph(f"<b>{_('Buyer')}</b>", body)],
            [
                Paragraph(
                    _text(f"{invoice.seller_name}\n{invoice.seller_address}")
                    + (
                        f"<br/>{_('Tax ID')}: {_text(invoice.seller_tax_id)}"
                        if invoice.seller_tax_id
                        else ""
                    ),
                    body,
                ),
                Paragraph(
                    _text(f"{invoice.buyer_name}\n{invoice.buyer_address}")
                    + (
                        f"<br/>{_('Tax ID')}: {_text(invoice.buyer_tax_id)}"
                        if invoice.buyer_tax_id
                        else ""
                    ),
                    body,
                ),
            ],
        ],
        colWidths=[85 * mm, 85 * mm],
    )
    rows = [[_("Description"), _("Qty"), _("Net")]]
    rows += [
        [
            Paragraph(_text(line["description"]), body),
            formats.number_format(line["quantity"], force_grouping=True),
            _money(line["net"], cur),
        ]
        for line in invoice.lines
    ]
    rows += [
        ["", _("Net"), _money(invoice.net, cur)],
        [
            "",
            _("VAT %(rate)s%%") % {"rate": f"{invoice.vat_rate * 100:.0f}"},
            _money(invoice.vat, cur),
        ],
        ["", _("Total"), _money(invoice.total, cur)],
    ]
    lines = Table(rows, colWidths=[110 * mm, 25 * mm, 35 * mm])
    lines.setStyle(
        TableStyle(
            [
                ("FONTNAME", (0, 0), (-1, -1), FONT),
                ("FONTNAME", (0, 0), (-1, 0), FONT_BOLD),
                ("FONTNAME", (1, -1), (-1, -1), FONT_BOLD),
                ("LINEBELOW", (0, 0), (-1, 0), 0.5, colors.black),
                ("LINEABOVE", (1, -3), (-1, -3), 0.5, colors.grey),
                ("ALIGN", (1, 0), (-1, -1), "RIGHT"),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ]
        )
    )
    story = [
        Paragraph(_("Invoice %(number)s") % {"number": invoice.number}, title),
        Paragraph(
            _("Issued %(date)s · order %(ref)s")
            % {
                "date": formats.date_format(invoice.issued_at.date(), "SHORT_DATE_FORMAT"),
                "ref": invoice.order.payment_reference,
            },
            body,
        ),
        Spacer(1, 8 * mm),
        parties,
        Spacer(1, 8 * mm),
        lines,
        Spacer(1, 8 * mm),
        Paragraph(_("Paid in full. Payments are non-refundable."), body),
    ]
    doc.build(story)
    return buffer.getvalue()
