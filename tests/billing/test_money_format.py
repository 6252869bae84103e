"""Money is written the reader's way (issue 19): "1 234,56 ₼" in Azerbaijani and Russian,
"AZN 1,234.56" in English, on pages, in the e-mail to the buyer (in the buyer's language,
whoever placed the order) and in PDFs (with the code: their font has no "₼")."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse
from reportlab.pdfbase import pdfmetrics

from accounts.models import User, Workspace
from billing import pdf
from billing.models import CreditLot, Invoice, Package
from billing.money import format_money

pytestmark = pytest.mark.django_db

NBSP = "\xa0"


@pytest.mark.parametrize(
    ("language", "written"),
    [
        ("az", f"1{NBSP}234{NBSP}567,50{NBSP}₼"),
        ("ru", f"1{NBSP}234{NBSP}567,50{NBSP}₼"),
        ("en", f"AZN{NBSP}1,234,567.50"),
    ],
)
def test_an_amount_is_written_the_reader_s_way(language: str, written: str) -> None:
    assert format_money(Decimal("1234567.5"), "AZN", language) == written


def test_the_pdf_font_can_draw_every_amount_it_is_given() -> None:
    pdf._register_fonts()
    face = pdfmetrics.getFont(pdf.FONT).face
    for language in ("az", "ru", "en"):
        text = format_money(Decimal("1234.56"), "AZN", language, sign=False)
        assert all(ord(ch) in face.charToGlyph for ch in text), (language, text)


@pytest.mark.parametrize(
    ("language", "total"),
    [("az", f"10,00{NBSP}₼"), ("ru", f"10,00{NBSP}₼"), ("en", f"AZN{NBSP}10.00")],
)
def test_the_invoice_page_writes_the_total_in_the_reader_s_language(
    workspace: Workspace,
    member_client: Client,
    buy: Callable[..., CreditLot],
    language: str,
    total: str,
) -> None:
    invoice = Invoice.objects.get(order=buy(workspace, credits=100).order)
    url = reverse(
        "billing:invoice",
        kwargs={"workspace_slug": workspace.slug, "invoice_id": invoice.public_id},
    )

    page = member_client.get(url, HTTP_ACCEPT_LANGUAGE=language).content.decode()

    assert total in page


def test_the_bank_transfer_e_mail_is_in_the_buyer_s_language(
    workspace: Workspace,
    member_client: Client,
    owner: User,
    package: Package,
    django_capture_on_commit_callbacks: Any,
) -> None:
    User.objects.filter(pk=owner.pk).update(language="ru")

    with django_capture_on_commit_callbacks(execute=True):
        member_client.post(
            reverse("billing:buy", kwargs={"workspace_slug": workspace.slug}),
            {
                "package": package.pk,
                "method": "bank_transfer",
                "buyer_company": "Şəki Xalça",
                "accept_no_refund": "on",
            },
        )

    [email] = mail.outbox
    assert email.extra_headers["Content-Language"] == "ru"
    assert f"59,00{NBSP}₼" in email.subject
    assert f"59,00{NBSP}₼" in email.body


def test_a_package_s_credits_are_grouped_as_its_price_is(
    workspace: Workspace, member_client: Client
) -> None:
    Package.objects.create(
        name="Large", credits=100_000, validity_days=365, price="1800.00", currency="AZN"
    )

    page = member_client.get(
        reverse("billing:pricing", kwargs={"workspace_slug": workspace.slug})
    ).content.decode()

    assert "100,000 message credits" in page
