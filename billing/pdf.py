"""Invoice PDFs with ReportLab. The DejaVu Sans font is bundled (billing/fonts/) because the
built-in PDF fonts have no glyphs for Azerbaijani letters such as "ə"."""

from __future__ import annotations

from decimal import Decimal
from io import BytesIO
from itertools import zip_longest
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


#: The longest piece of text one row of the seller/buyer table holds: about five lines in its
#: column, so a row is never taller than a page (a table can break between rows, never inside
#: one: one tall row was a LayoutError, an HTTP 500, for a buyer address of 6,300 characters).
ROW_CHARS = 200


def _pieces(text: str) -> list[str]:
    """`text` line by line, a line longer than `ROW_CHARS` cut into pieces (at a space when
    there is one in the second half of the piece, else anywhere)."""
    pieces: list[str] = []
    for line in (text or "").splitlines():
        while len(line) > ROW_CHARS:
            cut = line.rfind(" ", ROW_CHARS // 2, ROW_CHARS + 1)
            cut = cut if cut > 0 else ROW_CHARS
            pieces.append(line[:cut])
            line = line[cut:].lstrip(" ")
        pieces.append(line)
    return pieces


def _party(name: str, address: str, tax_id: str, style: ParagraphStyle) -> list[Paragraph]:
    lines = _pieces(name) + _pieces(address)
    paragraphs = [Paragraph(_text(line), style) for line in lines]
    if tax_id:
        paragraphs += [
            Paragraph(_text(f"{_('Tax ID')}: {piece}"), style) for piece in _pieces(tax_id)
        ]
    return paragraphs


def _parties(invoice: Invoice, style: ParagraphStyle) -> Table:
    """Seller and buyer side by side, one row per line of either: the table breaks across
    pages between rows (with the headings repeated), whatever length was stored."""
    seller = _party(invoice.seller_name, invoice.seller_address, invoice.seller_tax_id, style)
    buyer = _party(invoice.buyer_name, invoice.buyer_address, invoice.buyer_tax_id, style)
    rows: list[list[Paragraph | str]] = [
        [Paragraph(f"<b>{_('Seller')}</b>", style), Paragraph(f"<b>{_('Buyer')}</b>", style)]
    ]
    rows += [list(pair) for pair in zip_longest(seller, buyer, fillvalue="")]
    table = Table(rows, colWidths=[85 * mm, 85 * mm], repeatRows=1, splitByRow=1)
    table.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                # the lines of one block read as one paragraph, not as spaced-out rows
                ("TOPPADDING", (0, 1), (-1, -1), 0),
                ("BOTTOMPADDING", (0, 1), (-1, -1), 0),
            ]
        )
    )
    return table


def invoice_pdf(invoice: Invoice) -> bytes:
    """Render one invoice to PDF bytes, in the active language (the requesting user's): its
    words, its date and its amounts ("1 234,56 ₼" in Azerbaijani and Russian)."""
    _register_fonts()
    body = ParagraphStyle("body", fontName=FONT, fontSize=10, leading=14)
    title = ParagraphStyle("title", fontName=FONT_BOLD, fontSize=16, leading=20)
    buffer = BytesIO()
    doc = SimpleDocTemplate(buffer, pagesize=A4, title=invoice.number, author=invoice.seller_name)
    cur = invoice.currency
    parties = _parties(invoice, body)
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
