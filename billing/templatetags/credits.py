"""Credit counts written the reader's way, grouped as ``intcomma`` groups them ("1,000"; "1 000"
in Azerbaijani and Russian), where ``intcomma`` alone cannot do it: a change with its sign, and
a sentence whose plural form follows the count."""

from __future__ import annotations

from django import template
from django.utils import formats
from django.utils.translation import ngettext

register = template.Library()


def _grouped(n: int) -> str:
    return formats.number_format(n, force_grouping=True)


@register.filter
def signed_credits(change: int | None) -> str:
    """A change in credits with its sign: "+1,000", "-29", "+0" (as ``stringformat:"+d"``)."""
    if change is None:
        return ""
    return f"+{_grouped(change)}" if change >= 0 else f"-{_grouped(-change)}"


@register.simple_tag
def credits_expire_on(n: int, when: str) -> str:
    """ "1,000 credits expire on 5 Dec 2026": `blocktranslate count` writes its count
    ungrouped, so the sentence is filled here (the same msgid the dashboard had)."""
    return ngettext("%(n)s credit expires on %(when)s", "%(n)s credits expire on %(when)s", n) % {
        "n": _grouped(n),
        "when": when,
    }
