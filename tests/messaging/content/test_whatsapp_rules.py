"""Meta's authoring rules, checked before a template is submitted (`template_validate`), and
the editor's fields turned into Meta's components (`template_components_build`)."""

from __future__ import annotations

from typing import Any

import pytest

from messaging.content.whatsapp import (
    NAMED,
    POSITIONAL,
    template_components_build,
    template_validate,
)


def errors_for(
    *,
    name: str = "order_update",
    language: str = "en",
    category: str = "UTILITY",
    parameter_format: str = POSITIONAL,
    **fields: Any,
) -> dict[str, list[str]]:
    fields.setdefault("body", "Hello {{1}}, your order is ready.")
    fields.setdefault("body_examples", ["Aysel"])
    components = template_components_build(parameter_format=parameter_format, **fields)
    return template_validate(
        name=name,
        language=language,
        category=category,
        parameter_format=parameter_format,
        components=components,
    )


def test_a_template_that_follows_every_rule_passes() -> None:
    assert (
        errors_for(
            header_format="IMAGE",
            header_handle="4::aW1hZ2U=",
            body="Salam {{1}}! Your code {{2}} is valid until {{3}}.",
            body_examples=["Aysel", "SAVE10", "Monday"],
            footer="Reply STOP to opt out",
            buttons=[
                {"type": "QUICK_REPLY", "text": "Stop"},
                {"type": "URL", "text": "Shop", "url": "https://x.az/s/{{1}}", "url_example": "a1"},
                {"type": "PHONE_NUMBER", "text": "Call us", "phone_number": "+994501234567"},
                {"type": "COPY_CODE", "code": "SAVE10"},
            ],
        )
        == {}
    )


@pytest.mark.parametrize(
    "name",
    ["Order_Update", "order update", "order-update", "", "x" * 513],
)
def test_name_format(name: str) -> None:
    assert "lowercase letters, digits and underscores" in errors_for(name=name)["name"][0]


def test_language_and_category() -> None:
    errors = errors_for(language="English", category="PROMO")
    assert errors["language"] == ["Choose a language code such as en, az or en_US."]
    assert errors["category"] == ["Choose Marketing, Utility or Authentication."]


@pytest.mark.parametrize(
    ("body", "examples", "message"),
    [
        ("{{1}} is your code.", ["1"], "cannot start with a variable"),
        ("Your code is {{1}}", ["1"], "cannot end with a variable"),
        ("Your code is {{1}}.", ["1"], None),
        ("Hi {{1}}{{2}} there", ["a", "b"], "cannot be side by side"),
        ("Hi {{1}} {{2}} there", ["a", "b"], "cannot be side by side"),
        ("Hi {{1}} and {{3}} there", ["a", "b"], "in order without gaps"),
        ("Hi {{2}} and {{1}} there", ["a", "b"], None),
        ("Hi {{name}} there", ["a"], "Positional variables are numbers"),
        ("Hi {{1}} and {{2}} there", ["a"], "example value for each variable: {{2}}"),
        ("Hi " + "a" * 1030 + " {{1}} there", ["a"], "At most 1024 characters"),
        ("", [], "The body is required."),
    ],
)
def test_body_rules(body: str, examples: list[str], message: str | None) -> None:
    errors = errors_for(body=body, body_examples=examples)
    if message is None:
        assert "body" not in errors
    else:
        assert any(message in error for error in errors["body"]), errors


def test_named_variables() -> None:
    assert (
        errors_for(
            parameter_format=NAMED,
            body="Thanks {{first_name}}, see you in {{city}}.",
            body_examples=["Aysel", "Baku"],
        )
        == {}
    )
    bad = errors_for(parameter_format=NAMED, body="Thanks {{First}} ok.", body_examples=["A"])
    assert "Named variables use lowercase letters" in bad["body"][0]
    missing = errors_for(
        parameter_format=NAMED, body="Hi {{first_name}} in {{city}}.", body_examples=["A"]
    )
    assert missing["body"] == ["Give an example value for each variable: {{city}}"]


def test_header_rules() -> None:
    too_long = errors_for(header_format="TEXT", header_text="x" * 61)
    assert too_long["header"] == ["At most 60 characters (this has 61)."]
    two_vars = errors_for(header_format="TEXT", header_text="{{1}} and {{2}}", header_example="a")
    assert "at most one variable" in two_vars["header"][0]
    no_example = errors_for(header_format="TEXT", header_text="Hi {{1}}")
    assert no_example["header"] == ["Give an example value for the header's variable."]
    no_handle = errors_for(header_format="IMAGE")
    assert "needs an example" in no_handle["header"][0]


def test_footer_rules() -> None:
    assert errors_for(footer="f" * 61)["footer"] == ["At most 60 characters (this has 61)."]
    assert errors_for(footer="Hi {{1}}")["footer"] == ["The footer cannot contain variables."]


def test_button_limits_and_texts() -> None:
    too_many = errors_for(buttons=[{"type": "QUICK_REPLY", "text": f"b{i}"} for i in range(11)])
    assert "At most 10 buttons." in too_many["buttons"]
    urls = errors_for(
        buttons=[{"type": "URL", "text": f"u{i}", "url": "https://x.az"} for i in range(3)]
    )
    assert "At most 2 URL buttons." in urls["buttons"]
    phones = errors_for(
        buttons=[{"type": "PHONE_NUMBER", "text": "c", "phone_number": "+994501234567"}] * 2
    )
    assert "At most 1 PHONE_NUMBER button." in phones["buttons"]
    long_text = errors_for(buttons=[{"type": "QUICK_REPLY", "text": "x" * 26}])
    assert long_text["buttons"] == ["Button 1: text of at most 25 characters."]
    mixed = errors_for(
        buttons=[
            {"type": "QUICK_REPLY", "text": "a"},
            {"type": "URL", "text": "b", "url": "https://x.az"},
            {"type": "QUICK_REPLY", "text": "c"},
        ]
    )
    assert mixed["buttons"] == [
        "Keep the quick reply buttons together, before or after the others."
    ]


def test_url_button_variable_rules() -> None:
    no_example = errors_for(buttons=[{"type": "URL", "text": "Go", "url": "https://x.az/{{1}}"}])
    assert no_example["buttons"] == ["Button 1: give an example of the address's dynamic part."]
    middle = errors_for(
        buttons=[{"type": "URL", "text": "Go", "url": "https://x.az/{{1}}/x", "url_example": "a"}]
    )
    assert "at its very end" in middle["buttons"][0]
    not_web = errors_for(buttons=[{"type": "URL", "text": "Go", "url": "ftp://x"}])
    assert not_web["buttons"] == ["Button 1: a web address starting with https://."]
    bad_phone = errors_for(buttons=[{"type": "PHONE_NUMBER", "text": "c", "phone_number": "x"}])
    assert "phone number with its country code" in bad_phone["buttons"][0]
    long_code = errors_for(buttons=[{"type": "COPY_CODE", "code": "C" * 16}])
    assert long_code["buttons"] == ["Button 1: an example code of 1 to 15 characters."]


def test_components_are_built_in_metas_format() -> None:
    components = template_components_build(
        parameter_format=POSITIONAL,
        header_format="IMAGE",
        header_handle="4::h",
        body="Salam {{1}}, code {{2}} works.",
        body_examples=["Aysel", "SAVE10"],
        footer="STOP to opt out",
        buttons=[
            {"type": "URL", "text": "Shop", "url": "https://x.az/{{1}}", "url_example": "a1"},
            {"type": "COPY_CODE", "code": "SAVE10"},
        ],
    )

    assert components == [
        {"type": "HEADER", "format": "IMAGE", "example": {"header_handle": ["4::h"]}},
        {
            "type": "BODY",
            "text": "Salam {{1}}, code {{2}} works.",
            "example": {"body_text": [["Aysel", "SAVE10"]]},
        },
        {"type": "FOOTER", "text": "STOP to opt out"},
        {
            "type": "BUTTONS",
            "buttons": [
                {"type": "URL", "text": "Shop", "url": "https://x.az/{{1}}", "example": ["a1"]},
                {"type": "COPY_CODE", "example": "SAVE10"},
            ],
        },
    ]
    named = template_components_build(
        parameter_format=NAMED,
        header_format="TEXT",
        header_text="Order {{order_id}}",
        header_example="7",
        body="Thanks {{first_name}}!",
        body_examples=["Aysel"],
    )
    assert named[0]["example"] == {
        "header_text_named_params": [{"param_name": "order_id", "example": "7"}]
    }
    assert named[1]["example"] == {
        "body_text_named_params": [{"param_name": "first_name", "example": "Aysel"}]
    }
