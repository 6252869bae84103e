"""The sandbox's per-WABA template registry: Meta's ``message_templates`` edge, the approval
lifecycle and its webhooks, and the control API that tests and the sandbox page use.

Graph routes (Meta ``templates/overview`` and template management, research §1.1/§1.6):

* ``GET /{version}/{waba_id}/message_templates``: cursor paging (``data``,
  ``paging.cursors.before/after``, ``paging.next``/``previous``; ``limit``, ``after``, ``before``)
  and the filters ``name`` (exact, sandbox choice), ``status``, ``category``, ``language``
  and ``fields``;
* ``POST /{version}/{waba_id}/message_templates``: create, answering
  ``{"id", "status": "PENDING", "category"}``;
* ``DELETE /{version}/{waba_id}/message_templates?name=...[&hsm_id=...]``: every language of a
  name, or the one with that id (an unknown name: code 100, subcode 2593002, "Message template
  not found"); the name+language of a deleted approved template cannot be created again for
  ``deleted_template_block_seconds`` (30 days; code 100, subcode 2388023);
* ``GET /{version}/{template_id}[?fields=...]``: one template node.

Status changes post ``message_template_status_update`` (event, message_template_id,
message_template_name, message_template_language, reason, message_template_category, and
``rejection_info``/``other_info``/``disable_info`` where Meta's reference has them);
``template_category_update`` and ``message_template_quality_update`` are posted from the control
API.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import time
from typing import TYPE_CHECKING, Any

from aiohttp import web

from messaging.sandbox.graph import (
    bad_request,
    graph_error,
    json_object,
    nonexisting_field,
    not_found,
    wants_form,
)
from messaging.sandbox.templates import (
    CATEGORIES,
    GRAPH_FIELDS,
    QUALITY_SCORES,
    REJECTION_REASONS,
    STATUSES,
    Definition,
    Template,
    TemplateError,
    parse_definition,
    review_outcome,
)

if TYPE_CHECKING:
    from messaging.sandbox.server import Sandbox

#: Graph's default page size (sandbox choice where Meta's page is silent) and our ceiling.
DEFAULT_PAGE_SIZE = 25
MAX_PAGE_SIZE = 1000
#: Statuses the control API can set; REINSTATED is Meta's event for "approved again".
CONTROL_STATUSES = (*STATUSES, "REINSTATED")
#: A template paused a third time is disabled (research §1.5 "Quality": 3 h, 6 h, disabled).
PAUSES_BEFORE_DISABLE = 2


def _cursor(template_id: str) -> str:
    return base64.urlsafe_b64encode(template_id.encode()).decode().rstrip("=")


def _uncursor(cursor: str) -> int | None:
    try:
        return int(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode())
    except (ValueError, UnicodeDecodeError):
        return None


class TemplateRegistry:
    """Template handlers and lifecycle over the sandbox's state and webhook dispatcher."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox

    @property
    def templates(self) -> dict[str, Template]:
        return self.sandbox.state.templates

    # Lookups -----------------------------------------------------------------------------------

    def find(self, waba_id: str, name: str, language: str) -> Template | None:
        for template in self.templates.values():
            if (template.waba_id, template.name, template.language) == (waba_id, name, language):
                return template
        return None

    def _waba_guard(self, request: web.Request, waba_id: str) -> web.Response | None:
        """Meta answers an unknown object with code 100 and a bad token with 190."""
        numbers = self.sandbox.state.waba_numbers(waba_id)
        if not numbers:
            method = request.method.lower()
            return graph_error(
                100,
                f"Unsupported {method} request. Object with ID '{waba_id}' does not exist.",
                subcode=33,
            )
        tokens = {f"Bearer {n.access_token}" for n in numbers}
        if request.headers.get("Authorization") not in tokens:
            return graph_error(190, "Error validating access token.")
        return None

    # Creating --------------------------------------------------------------------------------

    def add(self, waba_id: str, definition: Definition, *, status: str = "PENDING") -> Template:
        """Store a validated template; PENDING ones get an automatic review when configured."""
        template = Template(
            id=self.sandbox.state.new_graph_id(),
            waba_id=waba_id,
            name=definition.name,
            language=definition.language,
            category=definition.category,
            parameter_format=definition.parameter_format,
            components=definition.components,
            spec=definition.spec,
            status=status,
            created_at=time.time(),
            quality_updated_at=int(time.time()),
        )
        self.templates[template.id] = template
        if status == "PENDING":
            self._schedule_review(template)
        return template

    def _schedule_review(self, template: Template) -> None:
        delay = self.sandbox.config.template_review_seconds
        if delay <= 0:
            return
        template.review_generation += 1
        generation = template.review_generation
        asyncio.get_running_loop().call_later(delay, self._auto_review, template.id, generation)

    def _auto_review(self, template_id: str, generation: int) -> None:
        template = self.templates.get(template_id)
        if template is None or template.status != "PENDING":
            return
        if template.review_generation != generation:
            return
        status, reason, info = review_outcome(template)
        self.set_status(template, status, reason=reason, rejection_info=info)

    async def graph_create(self, request: web.Request) -> web.Response:
        waba_id = request.match_info["waba_id"]
        refused = self._waba_guard(request, waba_id)
        if refused is not None:
            return refused
        body = await _graph_body(request)
        try:
            definition = parse_definition(body)
        except TemplateError as exc:
            return graph_error(
                100, str(exc), subcode=exc.subcode, user_title=exc.title, user_msg=str(exc)
            )
        if self.find(waba_id, definition.name, definition.language) is not None:
            # Meta: "Content in This Language Already Exists" (error_subcode 2388024).
            return graph_error(
                100,
                "Invalid parameter",
                subcode=2388024,
                user_title="Content in This Language Already Exists",
                user_msg=f"There is already {definition.language} content for this template. "
                "You can create a new template and try again.",
            )
        deleted_at = self.sandbox.state.deleted_templates.get(
            (waba_id, definition.name, definition.language)
        )
        block = self.sandbox.config.deleted_template_block_seconds
        if deleted_at is not None and time.time() - deleted_at < block:
            # The name of a deleted approved template cannot be reused for 30 days.
            return graph_error(
                100,
                "Invalid parameter",
                subcode=2388023,
                user_title="Message Template Language Is Being Deleted",
                user_msg=f"New {definition.language} content can't be added while the existing "
                f"{definition.language} content is being deleted. Try again in 4 weeks or "
                "consider creating a new message template.",
            )
        template = self.add(waba_id, definition)
        return web.json_response(
            {"id": template.id, "status": template.status, "category": template.category}
        )

    # Listing ---------------------------------------------------------------------------------

    async def graph_list(self, request: web.Request) -> web.Response:
        waba_id = request.match_info["waba_id"]
        refused = self._waba_guard(request, waba_id)
        if refused is not None:
            return refused
        query = request.query
        fields: tuple[str, ...] | None = None
        if query.get("fields"):
            fields = tuple(f.strip() for f in query["fields"].split(",") if f.strip())
            for name in fields:
                if name not in GRAPH_FIELDS:
                    return nonexisting_field(name, "WhatsAppBusinessAccountMessageTemplate")
        try:
            limit = int(query.get("limit", DEFAULT_PAGE_SIZE))
        except ValueError:
            return graph_error(100, "Param limit must be an integer.")
        if limit < 1:
            return graph_error(100, "Param limit must be a positive integer.")
        limit = min(limit, MAX_PAGE_SIZE)
        matching = [t for t in self.templates.values() if t.waba_id == waba_id]
        if query.get("name"):
            matching = [t for t in matching if t.name == query["name"]]
        for key, attribute in (
            ("status", "status"),
            ("category", "category"),
            ("language", "language"),
        ):
            if query.get(key):
                wanted = {v.strip() for v in query[key].split(",")}
                if key != "language":
                    wanted = {v.upper() for v in wanted}
                matching = [t for t in matching if getattr(t, attribute) in wanted]
        # Newest first; cursors name a template id, so deleting one never shifts a page.
        matching.sort(key=lambda t: int(t.id), reverse=True)
        if query.get("after"):
            after = _uncursor(query["after"])
            if after is None:
                return graph_error(100, "Param after is not a valid cursor.")
            matching = [t for t in matching if int(t.id) < after]
            page, more_after = matching[:limit], len(matching) > limit
            more_before = True
        elif query.get("before"):
            before = _uncursor(query["before"])
            if before is None:
                return graph_error(100, "Param before is not a valid cursor.")
            earlier = [t for t in matching if int(t.id) > before]
            page, more_before = earlier[-limit:], len(earlier) > limit
            more_after = True
        else:
            page, more_after, more_before = matching[:limit], len(matching) > limit, False
        answer: dict[str, Any] = {"data": [t.graph(fields) for t in page]}
        if page:
            paging: dict[str, Any] = {
                "cursors": {"before": _cursor(page[0].id), "after": _cursor(page[-1].id)}
            }
            base = request.url.with_query(
                {k: v for k, v in request.query.items() if k not in ("after", "before")}
            )
            if more_after:
                paging["next"] = str(base.update_query({"after": _cursor(page[-1].id)}))
            if more_before:
                paging["previous"] = str(base.update_query({"before": _cursor(page[0].id)}))
            answer["paging"] = paging
        return web.json_response(answer)

    def graph_node(self, template: Template, request: web.Request) -> web.Response:
        """``GET /{template_id}``: any token of the template's WABA may read it."""
        refused = self._waba_guard(request, template.waba_id)
        if refused is not None:
            return refused
        fields: tuple[str, ...] | None = None
        if request.query.get("fields"):
            fields = tuple(f.strip() for f in request.query["fields"].split(",") if f.strip())
            for name in fields:
                if name not in GRAPH_FIELDS:
                    return nonexisting_field(name, "WhatsAppMessageTemplate")
        return web.json_response(template.graph(fields))

    # Deleting --------------------------------------------------------------------------------

    async def graph_delete(self, request: web.Request) -> web.Response:
        waba_id = request.match_info["waba_id"]
        refused = self._waba_guard(request, waba_id)
        if refused is not None:
            return refused
        name = request.query.get("name", "")
        if not name:
            return graph_error(100, "The parameter name is required.")
        hsm_id = request.query.get("hsm_id")
        doomed = [
            t
            for t in self.templates.values()
            if t.waba_id == waba_id and t.name == name and (hsm_id is None or t.id == hsm_id)
        ]
        if not doomed:
            return graph_error(
                100,
                "Invalid parameter",
                subcode=2593002,
                user_title="Message template not found",
                user_msg=f"The message template {name} wasn't found for this account.",
            )
        now = time.time()
        for template in doomed:
            del self.templates[template.id]
            if template.status in ("APPROVED", "PAUSED", "DISABLED"):
                key = (template.waba_id, template.name, template.language)
                self.sandbox.state.deleted_templates[key] = now
        return web.json_response({"success": True})

    # Lifecycle -------------------------------------------------------------------------------

    def set_status(
        self,
        template: Template,
        status: str,
        *,
        reason: str | None = None,
        rejection_info: dict[str, str] | None = None,
    ) -> None:
        """Move a template to ``status`` and post ``message_template_status_update``.

        ``REINSTATED`` (Meta's event when a paused or flagged template may be sent again) sets
        the status back to APPROVED. A third pause disables the template, as Meta's pausing
        schedule does (research §1.5).
        """
        event = status
        value_extra: dict[str, Any] = {}
        if status == "PAUSED":
            if template.pause_count >= PAUSES_BEFORE_DISABLE:
                status = event = "DISABLED"
            else:
                template.pause_count += 1
                title = "FIRST_PAUSE" if template.pause_count == 1 else "SECOND_PAUSE"
                self._schedule_unpause(template)
                value_extra["other_info"] = {
                    "title": title,
                    "description": "Your WhatsApp message template has been paused because "
                    "of low quality.",
                }
        if status == "DISABLED":
            value_extra["disable_info"] = {"disable_date": int(time.time())}
        if status == "REINSTATED":
            status = "APPROVED"
            value_extra["other_info"] = {
                "title": "UNPAUSE",
                "description": "Your WhatsApp message template has been unpaused.",
            }
        if status == "REJECTED":
            template.rejected_reason = reason or "INVALID_FORMAT"
            template.rejection_info = rejection_info
            if template.rejected_reason == "INVALID_FORMAT" and rejection_info:
                value_extra["rejection_info"] = rejection_info
        else:
            template.rejected_reason = "NONE"
            template.rejection_info = None
        template.status = status
        if status == "PENDING":
            self._schedule_review(template)
        self.sandbox.webhooks.post_waba_now(
            template.waba_id,
            "message_template_status_update",
            {
                "event": event,
                "message_template_id": int(template.id),
                "message_template_name": template.name,
                "message_template_language": template.language,
                "reason": template.rejected_reason,
                "message_template_category": template.category,
                **value_extra,
            },
            label="message_template_status_update",
        )

    def _schedule_unpause(self, template: Template) -> None:
        """Meta's pausing schedule: a first pause lasts 3 hours, a second 6 (research §1.5);
        then the template is reinstated by itself. ``template_pause_seconds`` is the first."""
        first = self.sandbox.config.template_pause_seconds
        template.review_generation += 1
        if first <= 0:
            return
        generation = template.review_generation
        delay = first * template.pause_count
        asyncio.get_running_loop().call_later(delay, self._unpause, template.id, generation)

    def _unpause(self, template_id: str, generation: int) -> None:
        template = self.templates.get(template_id)
        if template is None or template.status != "PAUSED":
            return
        if template.review_generation != generation:
            return
        self.set_status(template, "REINSTATED")

    def set_category(self, template: Template, category: str) -> None:
        """A completed recategorisation (Meta ``template_category_update`` reference)."""
        previous = template.category
        template.previous_category = previous
        template.category = category
        self.sandbox.webhooks.post_waba_now(
            template.waba_id,
            "template_category_update",
            {
                "message_template_id": int(template.id),
                "message_template_name": template.name,
                "message_template_language": template.language,
                "previous_category": previous,
                "new_category": category,
            },
            label="template_category_update",
        )

    def set_quality(self, template: Template, quality: str) -> None:
        """A quality score change (Meta ``message_template_quality_update`` reference)."""
        previous = template.quality_score
        template.quality_score = quality
        template.quality_updated_at = int(time.time())
        self.sandbox.webhooks.post_waba_now(
            template.waba_id,
            "message_template_quality_update",
            {
                "previous_quality_score": previous,
                "new_quality_score": quality,
                "message_template_id": int(template.id),
                "message_template_name": template.name,
                "message_template_language": template.language,
            },
            label="message_template_quality_update",
        )

    # Control API -----------------------------------------------------------------------------

    async def control_list(self, request: web.Request) -> web.Response:
        query = request.query
        found = [
            t.control()
            for t in sorted(self.templates.values(), key=lambda t: int(t.id))
            if (not query.get("waba_id") or t.waba_id == query["waba_id"])
            and (not query.get("name") or t.name == query["name"])
            and (not query.get("status") or t.status == query["status"].upper())
        ]
        return web.json_response(found)

    async def control_register(self, request: web.Request) -> web.Response:
        """Register a template directly (test setup): Meta's creation rules, any status.

        Body: the creation payload plus ``waba_id`` (or ``phone_number_id``: that number's
        WABA) and optionally ``status`` (default APPROVED) and ``quality_score``.
        """
        body = await json_object(request)
        waba_id = self._waba_of(body)
        if waba_id is None:
            return bad_request("give a waba_id or the phone_number_id of a registered number")
        status = str(body.get("status") or "APPROVED").upper()
        if status not in STATUSES:
            return bad_request(f"status must be one of {', '.join(STATUSES)}")
        try:
            template = self.register(waba_id, body, status=status)
        except TemplateError as exc:
            return bad_request(str(exc))
        except ValueError as exc:
            return web.json_response({"error": str(exc)}, status=409)
        quality = str(body.get("quality_score") or "").upper()
        if quality in QUALITY_SCORES:
            template.quality_score = quality
        return web.json_response(template.control(), status=201)

    def register(self, waba_id: str, body: dict[str, Any], *, status: str) -> Template:
        """Validate and store a template at ``status``; a taken name+language is a ValueError."""
        definition = parse_definition(body)
        if self.find(waba_id, definition.name, definition.language) is not None:
            raise ValueError(
                f"{definition.name} ({definition.language}) already exists in {waba_id}"
            )
        return self.add(waba_id, definition, status=status)

    def _waba_of(self, body: dict[str, Any]) -> str | None:
        if body.get("waba_id"):
            return str(body["waba_id"])
        number = self.sandbox.state.numbers.get(str(body.get("phone_number_id", "")))
        return number.waba_id if number else None

    async def control_change(self, request: web.Request) -> web.StreamResponse:
        """``POST /_sandbox/templates/{id}/{status|category|quality}`` (JSON or the page's form).

        status: ``{"status": APPROVED|REJECTED|PAUSED|DISABLED|PENDING|REINSTATED,
        "reason": <rejection reason>}``; category: ``{"category": ...}``; quality:
        ``{"quality_score": GREEN|YELLOW|RED|UNKNOWN}``.
        """
        template = self.templates.get(request.match_info["id"])
        if template is None:
            return not_found("unknown template id")
        form = wants_form(request)
        fields: Any = await request.post() if form else await json_object(request)
        what = request.match_info["what"]
        if what == "status":
            status = str(fields.get("status", "")).upper()
            if status not in CONTROL_STATUSES:
                return bad_request(f"status must be one of {', '.join(CONTROL_STATUSES)}")
            reason = str(fields.get("reason") or "").upper() or None
            if status == "REJECTED":
                reason = reason or "INVALID_FORMAT"
                if reason not in REJECTION_REASONS:
                    return bad_request(f"reason must be one of {', '.join(REJECTION_REASONS)}")
            self.set_status(template, status, reason=reason)
        elif what == "category":
            category = str(fields.get("category", "")).upper()
            if category not in CATEGORIES:
                return bad_request(f"category must be one of {', '.join(CATEGORIES)}")
            self.set_category(template, category)
        else:
            quality = str(fields.get("quality_score", "")).upper()
            if quality not in QUALITY_SCORES:
                return bad_request(f"quality_score must be one of {', '.join(QUALITY_SCORES)}")
            self.set_quality(template, quality)
        if form:
            raise web.HTTPSeeOther("/_sandbox/")
        return web.json_response(template.control())

    async def control_delete(self, request: web.Request) -> web.Response:
        if self.templates.pop(request.match_info["id"], None) is None:
            return not_found("unknown template id")
        return web.Response(status=204)


async def _graph_body(request: web.Request) -> Any:
    """Graph accepts JSON bodies (and form posts whose ``components`` is a JSON string)."""
    if wants_form(request):
        form = dict(await request.post())
        raw = form.get("components")
        if isinstance(raw, str):
            with contextlib.suppress(ValueError):
                form["components"] = json.loads(raw)
        return form
    raw_body = await request.read()
    try:
        return json.loads(raw_body) if raw_body.strip() else {}
    except ValueError:
        return None
