"""The template renderer (pure) and template services."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

import pytest
from django.core.exceptions import ValidationError
from hypothesis import given
from hypothesis import strategies as st

from accounts.models import Workspace
from messaging.contacts.models import Contact
from messaging.content import rendering, services
from messaging.content.models import MessageTemplate

VALUES = rendering.contact_values(
    first_name="Aygün", last_name="Əliyeva", phone="+994501234567", attributes={"city": "Bakı"}
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Salam {{first_name}}!", "Salam Aygün!"),
        ("{{ first_name }} {{last_name}}", "Aygün Əliyeva"),
        ("{{full_name}}", "Aygün Əliyeva"),
        ("From {{attr.city}} / {{city}}", "From Bakı / Bakı"),
        ("Hi {{nickname|friend}}", "Hi friend"),
        ("Hi {{first_name|friend}}", "Hi Aygün"),
        ("Price {50% off}", "Price {50% off}"),  # braces without | stay literal
        ("{{phone}}", "+994501234567"),
    ],
)
def test_variables_and_fallbacks(text: str, expected: str) -> None:
    assert rendering.render(text, values=VALUES, seed="c1").text == expected


def test_missing_value_without_fallback_is_reported() -> None:
    rendered = rendering.render("Hi {{nickname}}!", values=VALUES, seed="c1")
    assert rendered.text == "Hi !"
    assert rendered.missing == ["nickname"]


def test_alternatives_are_deterministic_per_seed_and_all_used() -> None:
    text = "{Hi|Hello|Salam} {{first_name}}"
    first = rendering.render(text, values=VALUES, seed="contact-1").text
    assert rendering.render(text, values=VALUES, seed="contact-1").text == first
    greetings = Counter(
        rendering.render(text, values=VALUES, seed=f"c{i}").text.split()[0] for i in range(300)
    )
    assert set(greetings) == {"Hi", "Hello", "Salam"}
    assert min(greetings.values()) > 60  # spread roughly evenly


def test_alternatives_may_hold_variables() -> None:
    results = {
        rendering.render("{Dear {{first_name}}|Hi}", values=VALUES, seed=f"s{i}").text
        for i in range(50)
    }
    assert results == {"Dear Aygün", "Hi"}


def test_variants_rotate_deterministically() -> None:
    variants = ["A {{first_name}}", "B {{first_name}}", "C {{first_name}}"]
    picks = Counter(
        rendering.render_message(variants=variants, values=VALUES, seed=f"id{i}").variant
        for i in range(300)
    )
    assert set(picks) == {0, 1, 2}
    one = rendering.render_message(variants=variants, values=VALUES, seed="id7")
    assert one.text == f"{'ABC'[one.variant]} Aygün"
    assert (
        rendering.render_message(variants=variants, values=VALUES, seed="id7").variant
        == one.variant
    )


def test_unknown_variables_are_rejected_by_name() -> None:
    problems = rendering.validate(
        "Hi {{frist_name}} from {{city}} and {{attr.zip}}", known_attributes={"city"}
    )
    assert [p.variable for p in problems] == ["frist_name", "attr.zip"]
    assert "did you mean “{{first_name}}”" in problems[0].message
    assert "Give it a fallback" in problems[1].message


def test_a_new_attribute_with_a_fallback_is_accepted_but_a_typo_is_not() -> None:
    """A new workspace writes `{{city|Bakı}}` before importing contacts with a city (the
    editor refused it); a misspelt field keeps its error even with a fallback, or every
    contact would silently get the fallback."""
    assert rendering.validate("{{city|Bakı}} mağazamızda", known_attributes=set()) == []
    typo = rendering.validate("Salam {{frist_name|dost}}", known_attributes=set())
    assert [p.variable for p in typo] == ["frist_name"]
    near_known = rendering.validate("{{citty|Bakı}}", known_attributes={"city"})
    assert "did you mean “{{city}}”" in near_known[0].message


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("Hi {{first_name", "never closed"),
        ("Hi {{}}", "Empty variable"),
        ("Hi {{first name}}", "not a valid variable name"),
        ("", "empty"),
        ("x" * 4097, "4097 characters"),
    ],
)
def test_malformed_templates(text: str, fragment: str) -> None:
    problems = rendering.validate(text, known_attributes=set())
    assert problems
    assert fragment in problems[0].message


def test_cloud_api_parameters_from_our_variables() -> None:
    assert rendering.render_parameters(
        ["first_name|friend", "attr.city", "nickname|dear"], values=VALUES
    ) == ["Aygün", "Bakı", "dear"]


@given(st.text(max_size=200))
def test_render_never_crashes_on_valid_text(text: str) -> None:
    if not rendering.validate(text, known_attributes=None):
        rendered = rendering.render(text, values=VALUES, seed="x")
        assert isinstance(rendered.text, str)


@pytest.mark.django_db
def test_template_service_validates_against_the_workspaces_attributes(
    workspace: Workspace, make_contact: Callable[..., Contact]
) -> None:
    make_contact(workspace, attributes={"city": "Baku"})
    template = services.template_create(
        workspace=workspace,
        data={"name": "Welcome", "variants": ["Salam {{first_name|dost}} from {{city}}", "Hi!"]},
    )
    assert template.variants == ["Salam {{first_name|dost}} from {{city}}", "Hi!"]
    with pytest.raises(ValidationError) as excinfo:
        services.template_create(
            workspace=workspace, data={"name": "Bad", "variants": ["Hi {{shoe_size}}"]}
        )
    assert "shoe_size" in excinfo.value.message_dict["variants"][0]
    assert not MessageTemplate.objects.for_workspace(workspace).filter(name="Bad").exists()


@pytest.mark.django_db
def test_preview_for_a_contact_matches_its_seed(
    workspace: Workspace, make_contact: Callable[..., Contact]
) -> None:
    contact = make_contact(workspace, first_name="Leyla")
    rendered = services.template_render_for_contact(
        workspace=workspace, variants=["{Hi|Hello} {{first_name}}"], contact=contact
    )
    again = rendering.render_message(
        variants=["{Hi|Hello} {{first_name}}"],
        values=services.contact_render_values(contact),
        seed=str(contact.public_id),
    )
    assert rendered.text == again.text
    assert rendered.text.endswith("Leyla")


@pytest.mark.django_db
def test_changing_an_approved_templates_text_resets_approval(workspace: Workspace) -> None:
    template = services.template_create(
        workspace=workspace,
        data={
            "name": "Promo",
            "variants": ["Hi {{first_name}}"],
            "wa_template_name": "promo_v1",
            "wa_language": "az",
            "wa_category": "marketing",
            "wa_parameters": ["first_name|dost"],
            "wa_status": "approved",
        },
    )
    assert template.is_cloud_api_ready
    services.template_update(workspace=workspace, template=template, data={"variants": ["Hey"]})
    assert template.wa_status == MessageTemplate.ApprovalStatus.NOT_SUBMITTED
