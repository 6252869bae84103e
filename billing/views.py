"""Billing pages (balance, pricing and buying, orders, invoices, ledger) and the Stripe webhook.
Thin: parse the request, call a selector or a service, render."""

from __future__ import annotations

import csv
import logging
from collections.abc import Iterator
from itertools import islice

import stripe
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from accounts.models import Workspace
from accounts.permissions import Perm
from accounts.services import email_send_on_commit
from accounts.tenancy import WorkspaceRequest, workspace_view
from billing import pdf, selectors, services
from billing.forms import BuyForm, ThresholdForm
from billing.models import LedgerEntry, Order
from billing.presenters import ledger_sentences
from core.forms import errors_to_form
from core.spreadsheets import CSV_BOM, formula_safe

logger = logging.getLogger(__name__)


def _ws(request: WorkspaceRequest) -> Workspace:
    return request.workspace


def _balance_context(request: WorkspaceRequest) -> dict[str, object]:
    workspace = _ws(request)
    balance = services.credits_balance(workspace=workspace)
    prefs = selectors.billing_settings_for(workspace=workspace)
    return {
        "balance": balance,
        "prefs": prefs,
        "low_balance": prefs.low_balance_threshold > 0
        and balance.available < prefs.low_balance_threshold,
    }


@require_GET
@workspace_view(Perm.VIEW)
def overview(request: WorkspaceRequest) -> HttpResponse:
    workspace = _ws(request)
    context = _balance_context(request)
    context.update(
        {
            "lots": selectors.lots_for_workspace(workspace=workspace),
            "expiring_soon": selectors.soon_expiring_credits(workspace=workspace),
            "threshold_form": ThresholdForm(
                initial={"low_balance_threshold": context["prefs"].low_balance_threshold}  # type: ignore[attr-defined]
            ),
        }
    )
    return render(request, "billing/overview.html", context)


@require_POST
@workspace_view(Perm.BILLING_MANAGE)
def settings_update(request: WorkspaceRequest) -> HttpResponse:
    workspace = _ws(request)
    form = ThresholdForm(request.POST)
    if form.is_valid():
        services.billing_settings_update(
            workspace=workspace,
            actor=request.user,
            low_balance_threshold=form.cleaned_data["low_balance_threshold"],
        )
        messages.success(request, _("Low-balance threshold saved."))
    else:
        messages.error(request, _("Enter a whole number of credits, zero or more."))
    return redirect("billing:overview", workspace_slug=workspace.slug)


def _buy_form(data: object = None, **kwargs: object) -> BuyForm:
    return BuyForm(
        data,
        card_enabled=settings.STRIPE_ENABLED,
        bank_transfer_enabled=bool(settings.INVOICE_SELLER_BANK_DETAILS),
        **kwargs,
    )


def _pricing_context(request: WorkspaceRequest, form: BuyForm) -> dict[str, object]:
    return {
        "packages": selectors.packages_on_sale(),
        "form": form,
        "bank_transfer_enabled": bool(settings.INVOICE_SELLER_BANK_DETAILS),
        "support_email": settings.SUPPORT_EMAIL,
        **_balance_context(request),
    }


@require_GET
@workspace_view(Perm.VIEW)
def pricing(request: WorkspaceRequest) -> HttpResponse:
    workspace = _ws(request)
    initial: dict[str, object] = {"buyer_company": request.user.company_name or workspace.name}
    chosen = request.GET.get("package", "")
    if chosen.isdigit():  # a link that preselects a package
        initial["package"] = int(chosen)
    form = _buy_form(initial=initial)
    return render(request, "billing/pricing.html", _pricing_context(request, form))


def _order_email(request: WorkspaceRequest, order: Order) -> None:
    """Tell the buyer how to pay a bank-transfer order: amount, reference and bank details."""
    if order.method != Order.Method.BANK_TRANSFER or not order.buyer_email:
        return
    kwargs = {"workspace_slug": order.workspace.slug, "order_id": order.public_id}
    email_send_on_commit(
        to=[order.buyer_email],
        template="billing_order_bank_transfer",
        context={
            "reference": order.payment_reference,
            "amount": str(order.amount),
            "currency": order.currency,
            "package": order.package.name,
            "credits": order.credits,
            "validity_days": order.validity_days,
            "bank_details": settings.INVOICE_SELLER_BANK_DETAILS,
            "seller_name": settings.INVOICE_SELLER_NAME,
            "order_url": request.build_absolute_uri(reverse("billing:order", kwargs=kwargs)),
            "proforma_url": request.build_absolute_uri(
                reverse("billing:order_proforma", kwargs=kwargs)
            ),
        },
    )


@require_POST
@workspace_view(Perm.BILLING_MANAGE)
def buy(request: WorkspaceRequest) -> HttpResponse:
    workspace = _ws(request)
    form = _buy_form(request.POST)
    if not form.is_valid():
        return render(request, "billing/pricing.html", _pricing_context(request, form), status=400)
    try:
        order = services.order_create(
            workspace=workspace,
            package=form.cleaned_data["package"],
            method=form.cleaned_data["method"],
            actor=request.user,
            buyer_company=form.cleaned_data["buyer_company"],
            buyer_address=form.cleaned_data["buyer_address"],
            buyer_tax_id=form.cleaned_data["buyer_tax_id"],
        )
    except ValidationError as exc:
        # Shown on the form, which keeps what was typed (a redirect would lose it).
        if hasattr(exc, "error_dict"):
            errors_to_form(form, exc)
        else:
            form.add_error(None, exc)
        return render(request, "billing/pricing.html", _pricing_context(request, form), status=400)
    _order_email(request, order)
    # Card orders go to the order page, whose "Pay by card" link opens Stripe Checkout: a form
    # submission that redirects to another origin is blocked by the CSP's form-action 'self'.
    return redirect("billing:order", workspace_slug=workspace.slug, order_id=order.public_id)


@require_GET
@workspace_view(Perm.BILLING_MANAGE)
def order_pay(request: WorkspaceRequest, order_id: str) -> HttpResponse:
    """Open Stripe Checkout for a pending card order (a link, so a plain navigation)."""
    workspace = _ws(request)
    order = selectors.get_order_for_workspace(workspace=workspace, order_id=order_id)
    order_url = reverse(
        "billing:order", kwargs={"workspace_slug": workspace.slug, "order_id": order.public_id}
    )
    if not settings.STRIPE_ENABLED:
        messages.error(request, _("Card payments are not available."))
        return redirect(order_url)
    try:
        url = services.order_checkout_start(
            order=order,
            success_url=request.build_absolute_uri(order_url) + "?paid=1",
            cancel_url=request.build_absolute_uri(order_url),
        )
    except services.BillingError as exc:
        messages.error(request, str(exc))
        return redirect(order_url)
    except stripe.StripeError:
        logger.exception("Stripe Checkout session failed for order %s", order.pk)
        messages.error(request, _("The card payment page could not be opened. Try again."))
        return redirect(order_url)
    return HttpResponseRedirect(url)


@require_GET
@workspace_view(Perm.VIEW)
def orders(request: WorkspaceRequest) -> HttpResponse:
    page = Paginator(selectors.orders_for_workspace(workspace=_ws(request)), 50).get_page(
        request.GET.get("page")
    )
    return render(request, "billing/orders.html", {"page": page})


@require_GET
@workspace_view(Perm.VIEW)
def order_detail(request: WorkspaceRequest, order_id: str) -> HttpResponse:
    order = selectors.get_order_for_workspace(workspace=_ws(request), order_id=order_id)
    return render(
        request,
        "billing/order.html",
        {
            "order": order,
            "bank_details": settings.INVOICE_SELLER_BANK_DETAILS,
            "seller_name": settings.INVOICE_SELLER_NAME,
        },
    )


@require_GET
@workspace_view(Perm.VIEW)
def order_status(request: WorkspaceRequest, order_id: str) -> HttpResponse:
    """The htmx fragment the success page polls until the webhook marks the order paid."""
    order = selectors.get_order_for_workspace(workspace=_ws(request), order_id=order_id)
    return render(request, "billing/_order_status.html", {"order": order})


@require_POST
@workspace_view(Perm.BILLING_MANAGE)
def order_cancel(request: WorkspaceRequest, order_id: str) -> HttpResponse:
    workspace = _ws(request)
    order = selectors.get_order_for_workspace(workspace=workspace, order_id=order_id)
    try:
        services.order_cancel(order=order, actor=request.user)
        messages.success(request, _("Order %(ref)s cancelled.") % {"ref": order.payment_reference})
    except services.BillingError as exc:
        messages.error(request, str(exc))
    return redirect("billing:order", workspace_slug=workspace.slug, order_id=order.public_id)


@require_GET
@workspace_view(Perm.VIEW)
def order_proforma(request: WorkspaceRequest, order_id: str) -> HttpResponse:
    order = selectors.get_order_for_workspace(workspace=_ws(request), order_id=order_id)
    return render(
        request,
        "billing/proforma.html",
        {
            "order": order,
            "vat": selectors.vat_breakdown(order.amount),
            "seller_name": settings.INVOICE_SELLER_NAME,
            "seller_address": settings.INVOICE_SELLER_ADDRESS,
            "seller_tax_id": settings.INVOICE_SELLER_TAX_ID,
            "bank_details": settings.INVOICE_SELLER_BANK_DETAILS,
        },
    )


@require_GET
@workspace_view(Perm.VIEW)
def invoices(request: WorkspaceRequest) -> HttpResponse:
    page = Paginator(selectors.invoices_for_workspace(workspace=_ws(request)), 50).get_page(
        request.GET.get("page")
    )
    return render(request, "billing/invoices.html", {"page": page})


@require_GET
@workspace_view(Perm.VIEW)
def invoice_detail(request: WorkspaceRequest, invoice_id: str) -> HttpResponse:
    invoice = selectors.get_invoice_for_workspace(workspace=_ws(request), invoice_id=invoice_id)
    vat_percent = f"{invoice.vat_rate * 100:.0f}"
    return render(request, "billing/invoice.html", {"invoice": invoice, "vat_percent": vat_percent})


@require_GET
@workspace_view(Perm.VIEW)
def invoice_pdf(request: WorkspaceRequest, invoice_id: str) -> HttpResponse:
    invoice = selectors.get_invoice_for_workspace(workspace=_ws(request), invoice_id=invoice_id)
    response = HttpResponse(pdf.invoice_pdf(invoice), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{invoice.number}.pdf"'
    return response


@require_GET
@workspace_view(Perm.VIEW)
def ledger(request: WorkspaceRequest) -> HttpResponse:
    kind = request.GET.get("kind", "")
    entries = selectors.ledger_for_workspace(workspace=_ws(request), kind=kind)
    page = Paginator(entries, 100).get_page(request.GET.get("page"))
    rows = ledger_sentences(workspace=_ws(request), entries=page.object_list)
    return render(
        request,
        "billing/ledger.html",
        {"page": page, "rows": rows, "kind": kind, "kinds": LedgerEntry.Kind.choices},
    )


def _csv_text(value: str) -> str:
    """Neutralise spreadsheet formulas in free-text cells (CSV injection)."""
    return formula_safe(value)


class _Echo:
    def write(self, value: str) -> str:
        return value


CSV_CHUNK = 2000


@require_GET
@workspace_view(Perm.VIEW)  # a streaming response is a response too
def ledger_csv(request: WorkspaceRequest) -> StreamingHttpResponse:
    workspace = _ws(request)
    entries = selectors.ledger_for_workspace(workspace=workspace, kind=request.GET.get("kind", ""))
    writer = csv.writer(_Echo())
    header = [
        "created_at",
        "kind",
        "amount",
        "reserved_delta",
        "reference",
        "reason",
        "actor",
        "description",
    ]

    def rows() -> Iterator[str]:
        # The BOM tells Excel the file is UTF-8 (Azerbaijani and Russian descriptions).
        yield CSV_BOM + writer.writerow(header)
        stream = entries.iterator(chunk_size=CSV_CHUNK)
        # Each chunk's references are named together (one query per kind per chunk).
        while chunk := list(islice(stream, CSV_CHUNK)):
            for e, sentence in ledger_sentences(workspace=workspace, entries=chunk):
                yield writer.writerow(
                    [
                        e.created_at.isoformat(),
                        e.kind,
                        e.amount,
                        e.reserved_delta,
                        _csv_text(e.reference),
                        _csv_text(e.reason),
                        e.actor.email if e.actor else "",
                        _csv_text(sentence),
                    ]
                )

    response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="ledger-{workspace.slug}.csv"'
    return response


@csrf_exempt
@require_POST
def stripe_webhook(request: HttpRequest) -> HttpResponse:
    """Stripe's callback. A bad signature is a 400 and nothing is stored."""
    if not settings.STRIPE_WEBHOOK_SECRET:
        return HttpResponse(status=404)
    try:
        event = services.stripe_event_construct(
            payload=request.body, signature=request.headers.get("Stripe-Signature", "")
        )
    except (ValueError, stripe.SignatureVerificationError):
        return HttpResponse(status=400)
    services.stripe_event_process(event=event)
    return HttpResponse(status=200)
