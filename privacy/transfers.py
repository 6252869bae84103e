"""The register of cross-border transfers of personal data (seed 004 §12: the operator
notifies the authorised body before transferring personal data abroad, and must be able to
show what goes where). One row per sub-processor of the published list
(`privacy/policies/subprocessors.md`): where the data goes, on what safeguard, and which
data. It is data, kept here beside the policy text (translators own the policy files), shown
on the public sub-processor page and downloadable as CSV for the authority.

When a sub-processor is added to the published list, it is added here in the same change:
a test compares the two."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from core.spreadsheets import formula_safe


@dataclass(frozen=True)
class Transfer:
    """One sub-processor's transfer: who, for what, which data, to which countries, and the
    safeguard that protects the data there."""

    subprocessor: str | Promise
    purpose: str | Promise
    data: str | Promise
    countries: str | Promise
    safeguard: str | Promise


TRANSFER_REGISTER: tuple[Transfer, ...] = (
    Transfer(
        subprocessor=_("Hosting provider (cloud infrastructure)"),
        purpose=_("Runs the servers and databases of iSend and stores backups"),
        data=_("All data held in iSend"),
        countries=_("European Union"),
        safeguard=_(
            "Standard Contractual Clauses in the data processing agreement; encryption in "
            "transit and of credentials at rest"
        ),
    ),
    Transfer(
        subprocessor=_("E-mail delivery provider"),
        purpose=_("Sends account, service and (with consent) marketing e-mails"),
        data=_("Name, e-mail address, content of the e-mail"),
        countries=_("European Union"),
        safeguard=_("Standard Contractual Clauses in the data processing agreement"),
    ),
    Transfer(
        subprocessor=_("Stripe (Stripe Payments Europe, Ltd.; Stripe, Inc.)"),
        purpose=_("Processes card payments"),
        data=_("Name, e-mail address, card details entered with Stripe, payment amount"),
        countries=_("Ireland (EU); United States"),
        safeguard=_(
            "Standard Contractual Clauses in Stripe's data processing agreement; EU-U.S. "
            "Data Privacy Framework certification of Stripe, Inc."
        ),
    ),
    Transfer(
        subprocessor=_("Meta Platforms (WhatsApp Business Platform, Cloud API)"),
        purpose=_(
            "Sends and receives WhatsApp messages for numbers connected through the Cloud API"
        ),
        data=_(
            "Connected number, recipients' numbers, message content and templates, delivery "
            "statuses"
        ),
        countries=_("United States and other Meta data centres"),
        safeguard=_(
            "Standard Contractual Clauses in Meta's WhatsApp Business data processing terms"
        ),
    ),
)


def transfer_register() -> tuple[Transfer, ...]:
    return TRANSFER_REGISTER


def transfer_register_headers() -> list[str]:
    """The CSV's column names, in the reader's language."""
    return [
        gettext("Sub-processor"),
        gettext("Purpose"),
        gettext("Personal data transferred"),
        gettext("Destination countries"),
        gettext("Safeguard"),
    ]


def transfer_register_csv(transfers: Iterable[Transfer] | None = None) -> str:
    """The register as CSV (UTF-8, one row per sub-processor), for the authorised body."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(transfer_register_headers())
    for t in transfers if transfers is not None else TRANSFER_REGISTER:
        writer.writerow(
            formula_safe(str(value))
            for value in (t.subprocessor, t.purpose, t.data, t.countries, t.safeguard)
        )
    return out.getvalue()
