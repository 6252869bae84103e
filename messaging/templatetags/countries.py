from __future__ import annotations

from django import template

from core.countries import country_name as _country_name

register = template.Library()


@register.filter
def country_name(code: str) -> str:
    """`{{ contact.country|country_name }}`: "Azərbaycan" for AZ in Azerbaijani."""
    return _country_name(code) if code else ""
