"""Block Kit checks, as Slack applies them to messages and views.

Not a full schema: the limits Warroom can hit (block count, text lengths, element counts,
duplicate ids, unknown types) with Slack's error strings and json-pointers.
"""

from __future__ import annotations

from typing import Any

from bot.sandbox.methods_common import SlackError
from bot.sandbox.workspace import JSON

BLOCK_TYPES = {
    "section",
    "header",
    "divider",
    "context",
    "actions",
    "image",
    "input",
    "rich_text",
    "markdown",
    "file",
    "video",
}
INTERACTIVE = {
    "button",
    "static_select",
    "external_select",
    "users_select",
    "conversations_select",
    "channels_select",
    "multi_static_select",
    "multi_external_select",
    "multi_users_select",
    "multi_conversations_select",
    "multi_channels_select",
    "overflow",
    "datepicker",
    "timepicker",
    "datetimepicker",
    "checkboxes",
    "radio_buttons",
    "plain_text_input",
    "email_text_input",
    "url_text_input",
    "number_input",
    "rich_text_input",
    "image",
    "workflow_button",
}


class _Checker:
    def __init__(self) -> None:
        self.errors: list[str] = []

    def fail(self, message: str, pointer: str) -> None:
        self.errors.append(f"{message} [json-pointer:{pointer}]")

    def max_len(self, value: Any, limit: int, pointer: str) -> None:
        if isinstance(value, str) and len(value) > limit:
            self.fail(f"must be less than {limit + 1} characters", pointer)

    def text(self, obj: Any, pointer: str, *, limit: int, plain_only: bool = False) -> None:
        if not isinstance(obj, dict):
            self.fail("expected an object", pointer)
            return
        kinds = {"plain_text"} if plain_only else {"plain_text", "mrkdwn"}
        if obj.get("type") not in kinds:
            self.fail(f"must be one of {sorted(kinds)}", f"{pointer}/type")
        text = obj.get("text")
        if not isinstance(text, str):
            self.fail("missing required field: text", pointer)
        elif not text:
            self.fail("must be more than 0 characters", f"{pointer}/text")
        else:
            self.max_len(text, limit, f"{pointer}/text")

    def element(self, el: Any, pointer: str, action_ids: set[str]) -> None:
        if not isinstance(el, dict) or not isinstance(el.get("type"), str):
            self.fail("missing required field: type", pointer)
            return
        kind = el["type"]
        if kind not in INTERACTIVE:
            self.fail(f"unsupported type: {kind}", f"{pointer}/type")
            return
        action_id = el.get("action_id")
        if action_id is not None:
            self.max_len(action_id, 255, f"{pointer}/action_id")
            if action_id in action_ids:
                self.fail("action_id already exists", f"{pointer}/action_id")
            action_ids.add(action_id)
        if kind == "button":
            self.text(el.get("text"), f"{pointer}/text", limit=75, plain_only=True)
            self.max_len(el.get("value"), 2000, f"{pointer}/value")
            self.max_len(el.get("url"), 3000, f"{pointer}/url")
            style = el.get("style")
            if style is not None and style not in ("primary", "danger"):
                self.fail("must be one of ['danger', 'primary']", f"{pointer}/style")
        elif kind == "image":
            self.max_len(el.get("image_url"), 3000, f"{pointer}/image_url")
            if not el.get("alt_text"):
                self.fail("missing required field: alt_text", pointer)
        if "placeholder" in el:
            self.text(el["placeholder"], f"{pointer}/placeholder", limit=150, plain_only=True)
        options = el.get("options")
        if isinstance(options, list):
            cap = 5 if kind == "overflow" else 100
            if len(options) > cap:
                self.fail(f"must provide no more than {cap} items", f"{pointer}/options")
            for i, opt in enumerate(options):
                op = f"{pointer}/options/{i}"
                if not isinstance(opt, dict):
                    self.fail("expected an object", op)
                    continue
                self.text(opt.get("text"), f"{op}/text", limit=75)
                self.max_len(opt.get("value"), 150, f"{op}/value")

    def block(self, block: Any, pointer: str, block_ids: set[str], action_ids: set[str]) -> None:
        if not isinstance(block, dict):
            self.fail("expected an object", pointer)
            return
        kind = block.get("type")
        if kind not in BLOCK_TYPES:
            self.fail(f"unsupported type: {kind}", f"{pointer}/type")
            return
        block_id = block.get("block_id")
        if block_id is not None:
            if not isinstance(block_id, str):
                self.fail("expected a string", f"{pointer}/block_id")
            else:
                self.max_len(block_id, 255, f"{pointer}/block_id")
                if block_id in block_ids:
                    self.fail("block_id already exists", f"{pointer}/block_id")
                block_ids.add(block_id)
        if kind == "section":
            self._section(block, pointer, action_ids)
        elif kind == "header":
            self.text(block.get("text"), f"{pointer}/text", limit=150, plain_only=True)
        elif kind == "context":
            elements = block.get("elements")
            if not isinstance(elements, list) or not elements:
                self.fail("must provide at least 1 item", f"{pointer}/elements")
                return
            if len(elements) > 10:
                self.fail("must provide no more than 10 items", f"{pointer}/elements")
            for i, el in enumerate(elements):
                ep = f"{pointer}/elements/{i}"
                if isinstance(el, dict) and el.get("type") == "image":
                    self.element(el, ep, action_ids)
                else:
                    self.text(el, ep, limit=3000)
        elif kind == "actions":
            elements = block.get("elements")
            if not isinstance(elements, list) or not elements:
                self.fail("must provide at least 1 item", f"{pointer}/elements")
                return
            if len(elements) > 25:
                self.fail("must provide no more than 25 items", f"{pointer}/elements")
            for i, el in enumerate(elements):
                self.element(el, f"{pointer}/elements/{i}", action_ids)
        elif kind == "image":
            if not block.get("image_url") and not block.get("slack_file"):
                self.fail("missing required field: image_url", pointer)
            self.max_len(block.get("image_url"), 3000, f"{pointer}/image_url")
            if not block.get("alt_text"):
                self.fail("missing required field: alt_text", pointer)
            self.max_len(block.get("alt_text"), 2000, f"{pointer}/alt_text")
        elif kind == "input":
            self.text(block.get("label"), f"{pointer}/label", limit=2000, plain_only=True)
            if "element" not in block:
                self.fail("missing required field: element", pointer)
            else:
                self.element(block["element"], f"{pointer}/element", action_ids)
        elif kind == "markdown":
            text = block.get("text")
            if not isinstance(text, str) or not text:
                self.fail("missing required field: text", pointer)
            self.max_len(text, 12000, f"{pointer}/text")

    def _section(self, block: JSON, pointer: str, action_ids: set[str]) -> None:
        has_text = "text" in block
        fields = block.get("fields")
        if not has_text and fields is None:
            self.fail("must provide either text or fields", pointer)
        if has_text:
            self.text(block["text"], f"{pointer}/text", limit=3000)
        if fields is not None:
            if not isinstance(fields, list) or not fields:
                self.fail("must provide at least 1 item", f"{pointer}/fields")
            else:
                if len(fields) > 10:
                    self.fail("must provide no more than 10 items", f"{pointer}/fields")
                for i, f in enumerate(fields):
                    self.text(f, f"{pointer}/fields/{i}", limit=2000)
        if "accessory" in block:
            self.element(block["accessory"], f"{pointer}/accessory", action_ids)


def block_errors(blocks: Any, *, pointer: str = "/blocks", max_blocks: int = 50) -> list[str]:
    """Slack's complaints about a blocks array, empty when it is acceptable."""
    checker = _Checker()
    if not isinstance(blocks, list):
        checker.fail("expected an array", pointer)
        return checker.errors
    if len(blocks) > max_blocks:
        checker.fail(f"must provide no more than {max_blocks} items", pointer)
    block_ids: set[str] = set()
    action_ids: set[str] = set()
    for i, block in enumerate(blocks):
        checker.block(block, f"{pointer}/{i}", block_ids, action_ids)
    return checker.errors


def check_blocks(blocks: Any) -> list[JSON]:
    """The blocks of a message, or SlackError `invalid_blocks` / `invalid_blocks_format`."""
    if blocks is None:
        return []
    if not isinstance(blocks, list):
        raise SlackError("invalid_blocks_format")
    errors = block_errors(blocks)
    if errors:
        raise SlackError(
            "invalid_blocks",
            errors=errors,
            response_metadata={"messages": [f"[ERROR] {e}" for e in errors]},
        )
    return blocks
