"""Filling a WhatsApp template for one contact (pure): the variable mapping checked against the
template's slots, values with fallbacks, named parameters, and the contact's language."""

from __future__ import annotations

import pytest

from messaging.content.rendering import contact_values
from messaging.content.template_send import language_pick, template_render, variables_clean
from messaging.content.whatsapp import NAMED, POSITIONAL, template_slots
from messaging.gateways.base import ButtonParameter, TemplateParameter

POSITIONAL_COMPONENTS = [
    {"type": "HEADER", "format": "TEXT", "text": "Order {{1}}", "example": {"header_text": ["#1"]}},
    {
        "type": "BODY",
        "text": "Hi {{1}}, your order ships to {{2}} today.",
        "example": {"body_text": [["Aysel", "Baku"]]},
    },
    {"type": "FOOTER", "text": "Reply STOP to opt out"},
    {
        "type": "BUTTONS",
        "buttons": [
            {"type": "QUICK_REPLY", "text": "Stop"},
            {"type": "URL", "text": "Track", "url": "https://x.az/t/{{1}}", "example": ["a"]},
        ],
    },
]

NAMED_COMPONENTS = [
    {
        "type": "BODY",
        "text": "Hi {{first_name}}, see you in {{city}} soon.",
        "example": {
            "body_text_named_params": [
                {"param_name": "first_name", "example": "Aysel"},
                {"param_name": "city", "example": "Baku"},
            ]
        },
    }
]


def test_short_and_full_forms_are_stored_by_slot_key() -> None:
    slots = template_slots(POSITIONAL_COMPONENTS, POSITIONAL)
    mapping, errors = variables_clean(
        {
            "header.1": {"text": "#42"},
            "1": "first_name",
            "2": {"field": "attributes.city", "fallback": "Baku"},
            "button.1": {"field": "phone"},
        },
        slots,
    )
    assert errors == {}
    assert mapping == {
        "header.1": {"text": "#42"},
        "body.1": {"field": "first_name", "fallback": ""},
        "body.2": {"field": "attributes.city", "fallback": "Baku"},
        "button.1": {"field": "phone", "fallback": ""},
    }


@pytest.mark.parametrize(
    ("raw", "key", "message"),
    [
        ({"1": "first_name", "2": "phone", "button.1": "phone"}, "header.1", "map header"),
        ({"header.1": "phone", "1": "zodiac", "2": "phone", "button.1": "phone"}, "1", "zodiac"),
        (
            {"header.1": "phone", "1": "phone", "2": "phone", "button.1": "phone", "9": "phone"},
            "9",
            "no variable",
        ),
        (
            {"header.1": {"text": " "}, "1": "phone", "2": "phone", "button.1": "phone"},
            "header.1",
            "non-empty",
        ),
        (
            {"header.1": "attributes.", "1": "phone", "2": "phone", "button.1": "phone"},
            "header.1",
            "unknown field",
        ),
    ],
)
def test_a_wrong_mapping_says_which_slot(raw: dict, key: str, message: str) -> None:
    _mapping, errors = variables_clean(raw, template_slots(POSITIONAL_COMPONENTS, POSITIONAL))
    assert key in errors
    assert any(message in error for error in errors[key]), errors


def test_render_uses_values_then_fallbacks_and_reports_what_is_missing() -> None:
    mapping = {
        "header.1": {"text": "#42"},
        "body.1": {"field": "first_name", "fallback": "friend"},
        "body.2": {"field": "attributes.city", "fallback": ""},
        "button.1": {"field": "phone", "fallback": ""},
    }
    values = contact_values(first_name="", phone="+994501234567", attributes={"city": "Gəncə"})

    rendered = template_render(
        components=POSITIONAL_COMPONENTS,
        parameter_format=POSITIONAL,
        language="en_US",
        mapping=mapping,
        values=values,
    )

    assert rendered.header_parameters == (TemplateParameter("#42"),)
    assert rendered.body_parameters == (TemplateParameter("friend"), TemplateParameter("Gəncə"))
    assert rendered.button_parameters == (ButtonParameter(index=1, text="+994501234567"),)
    assert rendered.lacking == ["body.1"]
    assert rendered.empty == []
    assert rendered.text == (
        "Order #42\n\nHi friend, your order ships to Gəncə today.\n\nReply STOP to opt out"
    )

    no_city = template_render(
        components=POSITIONAL_COMPONENTS,
        parameter_format=POSITIONAL,
        language="en_US",
        mapping=mapping,
        values=contact_values(first_name="Aysel", phone="+994501234567"),
    )
    assert no_city.empty == ["body.2"]  # no value and no fallback: Meta would refuse it


def test_named_parameters_carry_their_names() -> None:
    rendered = template_render(
        components=NAMED_COMPONENTS,
        parameter_format=NAMED,
        language="az",
        mapping={"body.first_name": {"field": "first_name"}, "body.city": {"text": "Bakı"}},
        values=contact_values(first_name="Aysel"),
    )
    assert rendered.body_parameters == (
        TemplateParameter("Aysel", name="first_name"),
        TemplateParameter("Bakı", name="city"),
    )
    assert rendered.text == "Hi Aysel, see you in Bakı soon."


@pytest.mark.parametrize(
    ("language", "country", "expected"),
    [
        ("ru", "", "ru"),
        ("en", "", "en_US"),  # the same base language
        ("EN-us", "", "en_US"),
        ("", "RU", "ru"),  # no language: the country's usual one
        ("de", "AZ", "az"),  # no German translation: the country's language
        ("fr", "", "az"),  # neither: the campaign's default
        ("", "", "az"),
    ],
)
def test_each_contact_gets_its_language(language: str, country: str, expected: str) -> None:
    assert (
        language_pick(
            contact_language=language,
            contact_country=country,
            available=["az", "ru", "en_US"],
            default="az",
        )
        == expected
    )
