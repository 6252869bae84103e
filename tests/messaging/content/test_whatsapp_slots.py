"""`template_slots`: what a send of a Meta template must fill, read from Meta's components."""

from __future__ import annotations

from messaging.content.whatsapp import NAMED, POSITIONAL, TemplateSlot, template_slots

IMAGE_HEADER_URL_BUTTON = [
    {"type": "HEADER", "format": "IMAGE", "example": {"header_handle": ["4::aW1hZ2U="]}},
    {
        "type": "BODY",
        "text": "Salam {{1}}, your order {{2}} ships {{3}}.",
        "example": {"body_text": [["Aysel", "#1042", "Monday"]]},
    },
    {"type": "FOOTER", "text": "Reply STOP to opt out"},
    {
        "type": "BUTTONS",
        "buttons": [
            {"type": "QUICK_REPLY", "text": "Stop"},
            {"type": "URL", "text": "Track", "url": "https://x.az/t/{{1}}", "example": ["abc"]},
            {"type": "URL", "text": "Shop", "url": "https://x.az/shop"},
            {"type": "PHONE_NUMBER", "text": "Call", "phone_number": "+994501234567"},
            {"type": "COPY_CODE", "example": "SAVE10"},
        ],
    },
]


def test_positional_template_with_media_header_and_buttons() -> None:
    slots = template_slots(IMAGE_HEADER_URL_BUTTON, POSITIONAL)

    assert slots == [
        TemplateSlot(
            component="header",
            key="header.media",
            parameter_type="image",
            media_format="image",
            example="4::aW1hZ2U=",
        ),
        TemplateSlot(
            component="body", key="body.1", parameter_type="text", position=1, example="Aysel"
        ),
        TemplateSlot(
            component="body", key="body.2", parameter_type="text", position=2, example="#1042"
        ),
        TemplateSlot(
            component="body", key="body.3", parameter_type="text", position=3, example="Monday"
        ),
        TemplateSlot(
            component="button",
            key="button.1",
            parameter_type="text",
            button_index=1,
            sub_type="url",
            example="abc",
        ),
        TemplateSlot(
            component="button",
            key="button.4",
            parameter_type="coupon_code",
            button_index=4,
            sub_type="copy_code",
            example="SAVE10",
        ),
    ]
    assert [slot.label for slot in slots] == [
        "header (image)",
        "body {{1}}",
        "body {{2}}",
        "body {{3}}",
        "button 2 (url)",
        "button 5 (copy_code)",
    ]


def test_text_header_and_repeated_variable_count_once_in_numeric_order() -> None:
    components = [
        {"type": "HEADER", "format": "TEXT", "text": "Hi {{1}}", "example": {"header_text": ["A"]}},
        {
            "type": "BODY",
            "text": "{{2}} then {{1}} and {{1}} again",
            "example": {"body_text": [["x", "y"]]},
        },
    ]

    slots = template_slots(components, POSITIONAL)

    assert [(slot.key, slot.example) for slot in slots] == [
        ("header.1", "A"),
        ("body.1", "x"),
        ("body.2", "y"),
    ]


def test_named_parameters_keep_their_names_and_examples() -> None:
    components = [
        {
            "type": "HEADER",
            "format": "TEXT",
            "text": "Order {{order_id}}",
            "example": {"header_text_named_params": [{"param_name": "order_id", "example": "7"}]},
        },
        {
            "type": "BODY",
            "text": "Thanks {{first_name}}, see you in {{city}}.",
            "example": {
                "body_text_named_params": [
                    {"param_name": "first_name", "example": "Aysel"},
                    {"param_name": "city", "example": "Baku"},
                ]
            },
        },
    ]

    slots = template_slots(components, NAMED)

    assert [(slot.component, slot.name, slot.position, slot.example) for slot in slots] == [
        ("header", "order_id", None, "7"),
        ("body", "first_name", None, "Aysel"),
        ("body", "city", None, "Baku"),
    ]
    assert [slot.key for slot in slots] == ["header.order_id", "body.first_name", "body.city"]


def test_template_without_variables_has_no_slots() -> None:
    assert template_slots([{"type": "BODY", "text": "Hello!"}], POSITIONAL) == []
    assert template_slots([], POSITIONAL) == []


def test_location_header_and_document_header() -> None:
    location = template_slots([{"type": "HEADER", "format": "LOCATION"}], POSITIONAL)
    document = template_slots(
        [{"type": "HEADER", "format": "DOCUMENT", "example": {"header_handle": ["h"]}}]
    )

    assert [(s.key, s.parameter_type, s.media_format) for s in location] == [
        ("header.media", "location", "location")
    ]
    assert [(s.parameter_type, s.example) for s in document] == [("document", "h")]
