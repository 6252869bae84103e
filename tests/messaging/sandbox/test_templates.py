"""The sandbox's template registry over HTTP: Meta's message_templates edge and send checks."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pytest

from ..conftest import SandboxClient
from .helpers import (
    PHONE_ID,
    WABA_ID,
    body_component,
    control_status,
    create,
    definition,
    error_code,
    graph,
    register,
    send_template,
    text_parameters,
)

# Registry CRUD and paging --------------------------------------------------------------------


def test_create_answers_pending_and_lists_it(sandbox: SandboxClient) -> None:
    register(sandbox)
    answer = create(sandbox, definition("spring_sale", category="marketing"))
    assert answer.status == 200, answer.raw
    assert answer.body == {"id": answer.body["id"], "status": "PENDING", "category": "MARKETING"}
    assert answer.body["id"].isdigit()
    listed = graph(sandbox, "GET", f"{WABA_ID}/message_templates").body
    (template,) = listed["data"]
    assert template == {
        "name": "spring_sale",
        "parameter_format": "POSITIONAL",
        "components": [
            {
                "type": "BODY",
                "text": "Salam {{1}}, our spring sale starts today!",
                "example": {"body_text": [["Aysel"]]},
            }
        ],
        "language": "en",
        "status": "PENDING",
        "category": "MARKETING",
        "id": answer.body["id"],
    }
    assert "next" not in listed["paging"]
    node = graph(sandbox, "GET", f"{answer.body['id']}?fields=status").body
    assert node == {"status": "PENDING", "id": answer.body["id"]}


def test_listing_pages_with_cursors_until_the_end(sandbox: SandboxClient) -> None:
    register(sandbox)
    created = {create(sandbox, definition(f"promo_{n:02d}")).body["id"] for n in range(23)}
    seen: list[str] = []
    pages = 0
    path = f"{WABA_ID}/message_templates?limit=10&fields=name,status"
    while True:
        page = graph(sandbox, "GET", path).body
        pages += 1
        seen += [item["id"] for item in page["data"]]
        assert all(set(item) == {"id", "name", "status"} for item in page["data"])
        cursors = page["paging"]["cursors"]
        assert cursors["before"]
        assert cursors["after"]
        if "next" not in page["paging"]:
            break
        next_url = urlsplit(page["paging"]["next"])
        assert "after=" in next_url.query
        assert "limit=10" in next_url.query
        path = next_url.path.split("/", 2)[2] + "?" + next_url.query
    assert pages == 3
    assert len(seen) == len(set(seen)) == 23
    assert set(seen) == created
    # Newest first, as Meta lists them.
    assert seen == sorted(seen, key=int, reverse=True)
    # ``before`` walks back: the page before the last one is the middle page.
    last = graph(sandbox, "GET", path).body
    back = graph(
        sandbox,
        "GET",
        f"{WABA_ID}/message_templates?limit=10&before={last['paging']['cursors']['before']}",
    ).body
    assert [item["id"] for item in back["data"]] == seen[10:20]


def test_listing_filters_by_name_status_and_fields(sandbox: SandboxClient) -> None:
    register(sandbox)
    first = create(sandbox, definition("welcome", "en")).body["id"]
    create(sandbox, definition("welcome", "az"))
    create(sandbox, definition("welcome_back", "en"))
    assert control_status(sandbox, first, "APPROVED").status == 200
    by_name = graph(sandbox, "GET", f"{WABA_ID}/message_templates?name=welcome").body["data"]
    assert sorted(t["language"] for t in by_name) == ["az", "en"]
    approved = graph(sandbox, "GET", f"{WABA_ID}/message_templates?status=APPROVED").body["data"]
    assert [t["id"] for t in approved] == [first]
    with_quality = graph(
        sandbox, "GET", f"{WABA_ID}/message_templates?fields=quality_score,rejected_reason"
    ).body["data"]
    assert all(t["quality_score"]["score"] == "UNKNOWN" for t in with_quality)
    assert all(t["rejected_reason"] == "NONE" for t in with_quality)
    bad_field = graph(sandbox, "GET", f"{WABA_ID}/message_templates?fields=nope")
    assert (bad_field.status, error_code(bad_field)) == (400, 100)


def test_duplicate_name_and_language_is_refused_like_meta(sandbox: SandboxClient) -> None:
    register(sandbox)
    assert create(sandbox, definition("order_ready", "en")).status == 200
    again = create(sandbox, definition("order_ready", "en"))
    assert again.status == 400
    error = again.body["error"]
    assert (error["code"], error["error_subcode"]) == (100, 2388024)
    assert error["error_user_title"] == "Content in This Language Already Exists"
    assert create(sandbox, definition("order_ready", "ru")).status == 200
    listed = graph(sandbox, "GET", f"{WABA_ID}/message_templates").body["data"]
    assert len(listed) == 2


def test_delete_by_name_or_by_hsm_id(sandbox: SandboxClient) -> None:
    register(sandbox)
    english = create(sandbox, definition("promo", "en")).body["id"]
    azeri = create(sandbox, definition("promo", "az")).body["id"]
    create(sandbox, definition("other", "en"))
    one = graph(sandbox, "DELETE", f"{WABA_ID}/message_templates?name=promo&hsm_id={azeri}")
    assert (one.status, one.body) == (200, {"success": True})
    names = {
        (t["name"], t["id"])
        for t in graph(sandbox, "GET", f"{WABA_ID}/message_templates").body["data"]
    }
    assert ("promo", english) in names
    assert ("promo", azeri) not in names
    every = graph(sandbox, "DELETE", f"{WABA_ID}/message_templates?name=promo")
    assert every.status == 200
    left = graph(sandbox, "GET", f"{WABA_ID}/message_templates").body["data"]
    assert [t["name"] for t in left] == ["other"]
    missing = graph(sandbox, "DELETE", f"{WABA_ID}/message_templates?name=promo")
    assert (missing.status, error_code(missing)) == (400, 100)
    assert missing.body["error"]["error_subcode"] == 2593002


def test_a_deleted_approved_name_cannot_be_reused_for_30_days(sandbox: SandboxClient) -> None:
    register(sandbox)
    approved = create(sandbox, definition("launch", "en")).body["id"]
    control_status(sandbox, approved, "APPROVED")
    create(sandbox, definition("draft", "en"))  # never approved: its name is free again
    assert graph(sandbox, "DELETE", f"{WABA_ID}/message_templates?name=launch").status == 200
    assert graph(sandbox, "DELETE", f"{WABA_ID}/message_templates?name=draft").status == 200
    again = create(sandbox, definition("launch", "en"))
    assert again.status == 400
    assert (again.body["error"]["code"], again.body["error"]["error_subcode"]) == (100, 2388023)
    assert create(sandbox, definition("launch", "az")).status == 200  # another language
    assert create(sandbox, definition("draft", "en")).status == 200
    sandbox.configure(deleted_template_block_seconds=0)
    assert create(sandbox, definition("launch", "en")).status == 200


def test_waba_edge_checks_the_token_and_the_object(sandbox: SandboxClient) -> None:
    register(sandbox)
    wrong = graph(sandbox, "GET", f"{WABA_ID}/message_templates", token="nope")
    unknown = graph(sandbox, "GET", "NO-SUCH-WABA/message_templates")
    assert (wrong.status, error_code(wrong)) == (401, 190)
    assert (unknown.status, error_code(unknown)) == (400, 100)


def _header(**fields: Any) -> dict[str, Any]:
    return {"type": "HEADER", **fields}


def _buttons(*buttons: dict[str, Any]) -> dict[str, Any]:
    return {"type": "BUTTONS", "buttons": list(buttons)}


QUICK = {"type": "QUICK_REPLY", "text": "Stop"}
URL = {
    "type": "URL",
    "text": "Open",
    "url": "https://shop.example/o/{{1}}",
    "example": ["https://shop.example/o/42"],
}

REFUSED: list[tuple[str, dict[str, Any]]] = [
    ("uppercase name", definition("Spring_Sale")),
    ("name too long", definition("x" * 513)),
    ("bad category", definition("a1", category="PROMO")),
    ("bad language", definition("a2", language="english")),
    ("bad parameter format", definition("a3", parameter_format="MIXED")),
    ("no body", definition("a4", components=[{"type": "FOOTER", "text": "bye"}])),
    ("body too long", definition("a5", components=[body_component("x" * 1025)])),
    ("body without example", definition("a6", components=[body_component("Hi {{1}}, welcome!")])),
    ("too few examples", definition("a7", components=[body_component("Hi {{1}} and {{2}}!", "A")])),
    (
        "positional gap",
        definition("a8", components=[body_component("Hi {{1}} and {{3}}!", "A", "B")]),
    ),
    (
        "variable at the end",
        definition("a9", components=[body_component("Your code is {{1}}", "42")]),
    ),
    (
        "variable at the start",
        definition("b1", components=[body_component("{{1}} is your code.", "42")]),
    ),
    (
        "header with two variables",
        definition(
            "b2",
            components=[
                _header(format="TEXT", text="{{1}} and {{2}}", example={"header_text": ["a", "b"]}),
                body_component("Hello there."),
            ],
        ),
    ),
    (
        "header too long",
        definition(
            "b3", components=[_header(format="TEXT", text="h" * 61), body_component("Hello.")]
        ),
    ),
    (
        "image header without handle",
        definition("b4", components=[_header(format="IMAGE"), body_component("Hello.")]),
    ),
    (
        "footer too long",
        definition(
            "b5", components=[body_component("Hello."), {"type": "FOOTER", "text": "f" * 61}]
        ),
    ),
    (
        "url variable not at the end",
        definition(
            "b6",
            components=[
                body_component("Hello."),
                _buttons({**URL, "url": "https://shop.example/{{1}}/track"}),
            ],
        ),
    ),
    (
        "url variable without example",
        definition(
            "b7",
            components=[
                body_component("Hello."),
                _buttons({"type": "URL", "text": "Open", "url": "https://shop.example/{{1}}"}),
            ],
        ),
    ),
    (
        "three url buttons",
        definition("b8", components=[body_component("Hello."), _buttons(URL, URL, URL)]),
    ),
    (
        "two phone buttons",
        definition(
            "b9",
            components=[
                body_component("Hello."),
                _buttons(
                    *[{"type": "PHONE_NUMBER", "text": "Call", "phone_number": "+994501112233"}] * 2
                ),
            ],
        ),
    ),
    (
        "eleven buttons",
        definition("c1", components=[body_component("Hello."), _buttons(*[QUICK] * 11)]),
    ),
    (
        "quick replies not grouped",
        definition("c2", components=[body_component("Hello."), _buttons(QUICK, URL, QUICK)]),
    ),
    (
        "named body without named examples",
        definition(
            "c3",
            parameter_format="NAMED",
            components=[
                body_component("Hi {{first_name}}, welcome!", "Aysel"),
            ],
        ),
    ),
]


@pytest.mark.parametrize(("label", "payload"), REFUSED, ids=[label for label, _ in REFUSED])
def test_creation_is_refused_like_meta(
    sandbox: SandboxClient, label: str, payload: dict[str, Any]
) -> None:
    register(sandbox)
    answer = create(sandbox, payload)
    assert answer.status == 400, (label, answer.raw)
    error = answer.body["error"]
    assert error["code"] == 100
    assert error["error_user_title"]
    assert error["error_user_msg"]
    assert error["message"] == "(#100) Invalid parameter"
    assert graph(sandbox, "GET", f"{WABA_ID}/message_templates").body["data"] == []


def test_a_full_template_is_accepted(sandbox: SandboxClient) -> None:
    register(sandbox)
    payload = definition(
        "full_offer",
        components=[
            _header(format="IMAGE", example={"header_handle": ["4::aW1hZ2U="]}),
            body_component("Hi {{1}}, {{2}} is waiting for you.", "Aysel", "a gift"),
            {"type": "FOOTER", "text": "Reply STOP to opt out"},
            _buttons(
                QUICK,
                QUICK,
                URL,
                {"type": "PHONE_NUMBER", "text": "Call us", "phone_number": "+994501112233"},
                {"type": "COPY_CODE", "example": "SPRING25"},
            ),
        ],
    )
    assert create(sandbox, payload).status == 200
    named = definition(
        "named_offer",
        parameter_format="NAMED",
        components=[
            {
                "type": "BODY",
                "text": "Hi {{first_name}}, your order {{order_id}} is ready.",
                "example": {
                    "body_text_named_params": [
                        {"param_name": "first_name", "example": "Aysel"},
                        {"param_name": "order_id", "example": "1042"},
                    ]
                },
            }
        ],
    )
    assert create(sandbox, named).status == 200


# Send validation -----------------------------------------------------------------------------


def _approved(sandbox: SandboxClient, payload: dict[str, Any]) -> str:
    answer = create(sandbox, payload)
    assert answer.status == 200, answer.raw
    assert control_status(sandbox, answer.body["id"], "APPROVED").status == 200
    return str(answer.body["id"])


def _offer(sandbox: SandboxClient) -> str:
    return _approved(
        sandbox,
        definition(
            "offer",
            components=[
                _header(format="IMAGE", example={"header_handle": ["4::aW1hZ2U="]}),
                body_component("Hi {{1}}, {{2}} is waiting for you.", "Aysel", "a gift"),
                _buttons(QUICK, URL),
            ],
        ),
    )


def _offer_components(
    *, image: Any = None, body: tuple[str, ...] = ("Aysel", "a gift"), url: str | None = "42"
) -> list[dict[str, Any]]:
    components: list[dict[str, Any]] = [
        {
            "type": "header",
            "parameters": [
                {"type": "image", "image": image or {"link": "https://cdn.example/a.jpg"}}
            ],
        },
        {"type": "body", "parameters": text_parameters(*body)},
    ]
    if url is not None:
        components.append(
            {"type": "button", "sub_type": "url", "index": "1", "parameters": text_parameters(url)}
        )
    return components


def test_a_correct_template_send_is_accepted_and_logged(sandbox: SandboxClient) -> None:
    register(sandbox)
    _offer(sandbox)
    components = _offer_components()
    answer = send_template(sandbox, "offer", "en", components)
    assert answer.status == 200, answer.raw
    assert answer.body["messages"][0]["message_status"] == "accepted"
    log = sandbox.call("GET", f"/_sandbox/numbers/{PHONE_ID}/messages?type=template").body
    assert log["count"] == 1
    (entry,) = log["data"]
    assert entry["type"] == "template"
    assert entry["to"] == "994501234567"
    assert entry["template"] == {
        "name": "offer",
        "language": {"code": "en"},
        "components": components,
    }
    assert entry["id"] == answer.body["messages"][0]["id"]
    (template,) = sandbox.call("GET", f"/_sandbox/templates?waba_id={WABA_ID}").body
    assert template["sent"] == 1


def test_unknown_pending_or_rejected_templates_are_132001(sandbox: SandboxClient) -> None:
    register(sandbox)
    pending = create(sandbox, definition("pending_one")).body["id"]
    rejected = create(sandbox, definition("rejected_one")).body["id"]
    control_status(sandbox, rejected, "REJECTED", reason="PROMOTIONAL")
    _approved(sandbox, definition("approved_one"))
    for name, language in (
        ("no_such", "en"),
        ("approved_one", "az"),  # exists, but not in that language
        ("pending_one", "en"),
        ("rejected_one", "en"),
    ):
        answer = send_template(
            sandbox, name, language, [{"type": "body", "parameters": text_parameters("A")}]
        )
        assert (answer.status, error_code(answer)) == (404, 132001), name
    assert pending
    stats = sandbox.number_stats(PHONE_ID)
    assert stats["rejected"] == {"132001": 4}
    assert stats["accepted"] == 0


@pytest.mark.parametrize(
    ("components", "code"),
    [
        (None, 132012),  # no header image at all
        (_offer_components(body=("Aysel",)), 132000),
        (_offer_components(body=("Aysel", "a gift", "more")), 132000),
        (_offer_components(url=None), 132000),
        (
            [
                {"type": "header", "parameters": text_parameters("not an image")},
                *_offer_components()[1:],
            ],
            132012,
        ),
        (_offer_components(image={"id": "999999"}), 131009),
        (_offer_components(body=("Aysel", "line\nbreak")), 132018),
    ],
    ids=[
        "no-header",
        "too-few-body",
        "too-many-body",
        "no-url-param",
        "text-header",
        "unknown-media",
        "newline",
    ],
)
def test_parameter_mismatches_are_refused(
    sandbox: SandboxClient, components: list[dict[str, Any]] | None, code: int
) -> None:
    register(sandbox)
    _offer(sandbox)
    answer = send_template(sandbox, "offer", "en", components)
    assert error_code(answer) == code, answer.raw
    assert answer.status == 400
    assert answer.body["error"]["error_data"]["details"]
    assert sandbox.number_stats(PHONE_ID)["accepted"] == 0


def test_named_parameters_need_their_names(sandbox: SandboxClient) -> None:
    register(sandbox)
    _approved(
        sandbox,
        definition(
            "named",
            parameter_format="NAMED",
            components=[
                {
                    "type": "BODY",
                    "text": "Hi {{first_name}}, order {{order_id}} is ready.",
                    "example": {
                        "body_text_named_params": [
                            {"param_name": "first_name", "example": "Aysel"},
                            {"param_name": "order_id", "example": "1042"},
                        ]
                    },
                }
            ],
        ),
    )
    named = [
        {"type": "text", "parameter_name": "order_id", "text": "77"},
        {"type": "text", "parameter_name": "first_name", "text": "Leyla"},
    ]
    ok = send_template(sandbox, "named", "en", [{"type": "body", "parameters": named}])
    assert ok.status == 200, ok.raw
    positional = send_template(
        sandbox, "named", "en", [{"type": "body", "parameters": text_parameters("Leyla", "77")}]
    )
    assert error_code(positional) == 132012
    wrong_name = [{**named[0], "parameter_name": "city"}, named[1]]
    wrong = send_template(sandbox, "named", "en", [{"type": "body", "parameters": wrong_name}])
    assert error_code(wrong) == 132000


def test_paused_and_disabled_templates_are_132015_and_132016(sandbox: SandboxClient) -> None:
    register(sandbox)
    template_id = _approved(sandbox, definition("seasonal"))
    body = [{"type": "body", "parameters": text_parameters("Aysel")}]
    assert send_template(sandbox, "seasonal", "en", body).status == 200
    control_status(sandbox, template_id, "PAUSED")
    paused = send_template(sandbox, "seasonal", "en", body)
    assert (paused.status, error_code(paused)) == (400, 132015)
    control_status(sandbox, template_id, "REINSTATED")
    assert send_template(sandbox, "seasonal", "en", body).status == 200
    control_status(sandbox, template_id, "DISABLED")
    disabled = send_template(sandbox, "seasonal", "en", body)
    assert (disabled.status, error_code(disabled)) == (400, 132016)
    assert sandbox.number_stats(PHONE_ID)["rejected"] == {"132015": 1, "132016": 1}


def test_a_third_pause_disables_the_template(sandbox: SandboxClient) -> None:
    register(sandbox)
    template_id = _approved(sandbox, definition("fragile"))
    for _ in range(2):
        assert control_status(sandbox, template_id, "PAUSED").body["status"] == "PAUSED"
        assert control_status(sandbox, template_id, "REINSTATED").body["status"] == "APPROVED"
    assert control_status(sandbox, template_id, "PAUSED").body["status"] == "DISABLED"


def test_control_api_registers_lists_and_refuses_bad_templates(sandbox: SandboxClient) -> None:
    register(sandbox)
    added = sandbox.add_template(PHONE_ID, name="direct", body="Hello {{1}}!", examples=["A"])
    assert (added["status"], added["waba_id"]) == ("APPROVED", WABA_ID)
    again = sandbox.call(
        "POST",
        "/_sandbox/templates",
        {"phone_number_id": PHONE_ID, **definition("direct")},
    )
    assert again.status == 409
    bad = sandbox.call(
        "POST", "/_sandbox/templates", {"phone_number_id": PHONE_ID, **definition("Bad")}
    )
    assert bad.status == 400
    nowhere = sandbox.call("POST", "/_sandbox/templates", definition("lost"))
    assert nowhere.status == 400
    listed = sandbox.call("GET", "/_sandbox/templates?status=APPROVED").body
    assert [t["name"] for t in listed] == ["direct"]
    assert sandbox.call("DELETE", f"/_sandbox/templates/{added['id']}").status == 204
    assert sandbox.call("GET", "/_sandbox/templates").body == []
    bad_status = control_status(sandbox, "123", "APPROVED")
    assert bad_status.status == 404


def test_registration_templates_are_approved_at_once(sandbox: SandboxClient) -> None:
    starter = definition(
        "isend_welcome",
        components=[body_component("Salam {{1}}, welcome to our updates.", "Aysel")],
    )
    register(sandbox, templates=[starter])
    register(sandbox, templates=[starter])  # idempotent: re-registration keeps one copy
    (template,) = sandbox.call("GET", f"/_sandbox/templates?waba_id={WABA_ID}").body
    assert (template["name"], template["status"]) == ("isend_welcome", "APPROVED")
    answer = send_template(
        sandbox, "isend_welcome", "en", [{"type": "body", "parameters": text_parameters("Aysel")}]
    )
    assert answer.status == 200, answer.raw
    refused = sandbox.call(
        "POST",
        "/_sandbox/numbers",
        {"phone_number_id": "2002", "access_token": "t", "templates": [definition("Bad")]},
    )
    assert refused.status == 400
