"""How billing's records read to a business user: its audit actions, and each credit ledger
entry as a sentence ("Campaign “Spring sale” used 29 credits") with the object named, not
`consumption -29 campaign:<uuid>`. Found by `accounts.presenters.discover`."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils import formats
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext, ngettext_lazy

from accounts.models import AuditEvent, Workspace
from accounts.presenters import references_named
from billing.models import LedgerEntry, Order
from billing.money import format_money

AUDIT_SENTENCES: dict[str, Any] = {
    "billing.credits.purchased": ngettext_lazy(
        "%(credits)s credit bought (order %(target)s, invoice %(invoice)s)",
        "%(credits)s credits bought (order %(target)s, invoice %(invoice)s)",
        "credits",
    ),
    "billing.credits.reserved": ngettext_lazy(
        "%(object)s: %(credits)s credit set aside",
        "%(object)s: %(credits)s credits set aside",
        "credits",
    ),
    "billing.credits.consumed": ngettext_lazy(
        "%(object)s used %(credits)s credit", "%(object)s used %(credits)s credits", "credits"
    ),
    "billing.credits.released": ngettext_lazy(
        "%(object)s: %(credits)s set-aside credit returned (not needed)",
        "%(object)s: %(credits)s set-aside credits returned (not needed)",
        "credits",
    ),
    "billing.credits.refunded": ngettext_lazy(
        "%(object)s: %(credits)s credit refunded for a message that failed",
        "%(object)s: %(credits)s credits refunded for messages that failed",
        "credits",
    ),
    "billing.credits.adjusted": gettext_lazy(
        "Credits adjusted by iSend staff (%(credits)s): %(reason)s"
    ),
    "billing.credits.expired": ngettext_lazy(
        "%(credits)s unused credit expired", "%(credits)s unused credits expired", "credits"
    ),
    "billing.credits.revoked": ngettext_lazy(
        "%(credits)s credit withdrawn: %(reason)s",
        "%(credits)s credits withdrawn: %(reason)s",
        "credits",
    ),
    "billing.order.created": gettext_lazy("Order %(target)s placed (%(amount)s)"),
    "billing.order.cancelled": gettext_lazy("Order %(target)s cancelled"),
    "billing.order.failed": gettext_lazy("The card payment of order %(target)s failed"),
    "billing.order.rejected": gettext_lazy("Order %(target)s rejected: %(reason)s"),
    "billing.settings.updated": gettext_lazy(
        "Low-balance alert set to %(low_balance_threshold)s credits"
    ),
}


def _order_amounts(rows: list[tuple[AuditEvent, dict[str, Any]]]) -> None:
    """An order's amount written as money is on its pages, in the reader's language and with
    its currency ("25,00 ₼" in az and ru, "AZN 25.00" in English); it read "25.00". Events
    recorded before the currency was kept in their details take their order's, read for the
    whole page in one query."""
    without = {
        int(event.target_id)
        for event, values in rows
        if not values.get("currency") and event.target_id.isdigit()
    }
    currencies: dict[int, str] = {}
    if without:
        workspaces = {e.workspace_id for e, _v in rows if e.workspace_id is not None}
        currencies = dict(
            Order.objects.filter(pk__in=without, workspace_id__in=workspaces).values_list(
                "pk", "currency"
            )
        )
    for event, values in rows:
        try:
            amount = Decimal(str(values["amount"]))
        except (KeyError, InvalidOperation):
            continue
        order_id = int(event.target_id) if event.target_id.isdigit() else 0
        currency = values.get("currency") or currencies.get(order_id, "")
        if currency:
            values["amount"] = format_money(amount, str(currency))
        else:  # the order is gone: the number alone, still the reader's way
            values["amount"] = formats.number_format(amount, decimal_pos=2, force_grouping=True)


AUDIT_VALUES = {"billing.order.created": _order_amounts}


def _object(named: dict[str, str], reference: str) -> str:
    if not reference:
        return _("Credits")
    if ":" in reference:
        return named.get(reference, reference)
    return _("Order %(reference)s") % {"reference": reference}


def _counted(sentence: str, values: dict[str, Any]) -> str:
    """Fill a ledger sentence with its count grouped the reader's way ("1,000 credits"; "1 000
    кредитов" in Russian), as the amounts beside it are. The catalogues write the count
    `%(n)d`: it is filled in already written out."""
    return sentence.replace("%(n)d", "%(n)s") % {
        **values,
        "n": formats.number_format(values["n"], force_grouping=True),
    }


def ledger_sentence(entry: LedgerEntry, named: dict[str, str]) -> str:
    """One entry in words. `named` names its reference (see `ledger_sentences`)."""
    n = abs(entry.amount) or abs(entry.reserved_delta)
    what = _object(named, entry.reference)
    kind = LedgerEntry.Kind
    if entry.kind == kind.PURCHASE:
        return _counted(
            ngettext(
                "%(n)d credit bought (order %(ref)s)", "%(n)d credits bought (order %(ref)s)", n
            ),
            {"n": n, "ref": entry.reference},
        )
    if entry.kind == kind.RESERVATION:
        return _counted(
            ngettext("%(what)s: %(n)d credit set aside", "%(what)s: %(n)d credits set aside", n),
            {"what": what, "n": n},
        )
    if entry.kind == kind.CONSUMPTION:
        return _counted(
            ngettext("%(what)s used %(n)d credit", "%(what)s used %(n)d credits", n),
            {"what": what, "n": n},
        )
    if entry.kind == kind.RELEASE:
        return _counted(
            ngettext(
                "%(what)s: %(n)d set-aside credit returned (not needed)",
                "%(what)s: %(n)d set-aside credits returned (not needed)",
                n,
            ),
            {"what": what, "n": n},
        )
    if entry.kind == kind.REFUND:
        return _counted(
            ngettext(
                "%(what)s: %(n)d credit refunded for a message that failed",
                "%(what)s: %(n)d credits refunded for messages that failed",
                n,
            ),
            {"what": what, "n": n},
        )
    if entry.kind == kind.EXPIRY:
        return _counted(
            ngettext("%(n)d unused credit expired", "%(n)d unused credits expired", n), {"n": n}
        )
    if entry.kind == kind.REVOCATION:
        return _counted(
            ngettext(
                "%(n)d credit withdrawn (%(what)s): %(reason)s",
                "%(n)d credits withdrawn (%(what)s): %(reason)s",
                n,
            ),
            {"n": n, "what": what, "reason": entry.reason},
        )
    if entry.amount >= 0:
        return _counted(
            ngettext(
                "%(n)d credit added by iSend staff: %(reason)s",
                "%(n)d credits added by iSend staff: %(reason)s",
                n,
            ),
            {"n": n, "reason": entry.reason},
        )
    return _counted(
        ngettext(
            "%(n)d credit removed by iSend staff: %(reason)s",
            "%(n)d credits removed by iSend staff: %(reason)s",
            n,
        ),
        {"n": n, "reason": entry.reason},
    )


def ledger_sentences(
    *, workspace: Workspace, entries: Iterable[LedgerEntry]
) -> list[tuple[LedgerEntry, str]]:
    """A page of entries in words; their references named with one query per kind."""
    entries = list(entries)
    named = references_named(workspace=workspace, references=[e.reference for e in entries])
    return [(entry, ledger_sentence(entry, named)) for entry in entries]
