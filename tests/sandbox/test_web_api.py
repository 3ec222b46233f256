"""The sandbox's Slack Web API, driven only through the real slack_sdk clients."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from bot.sandbox.web_api import add_web_api_routes, new_response_url
from bot.sandbox.workspace import Fault, Message, Workspace, default_workspace

START = 1_700_000_000.0

# blocks-only messages are legal; slack_sdk merely advises a fallback text
pytestmark = pytest.mark.filterwarnings("ignore:The top-level `text` argument:UserWarning")


class FakeClock:
    def __init__(self, now: float = START) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class Sandbox:
    ws: Workspace
    clock: FakeClock
    server: TestServer
    client: AsyncWebClient

    def url(self, path: str) -> str:
        return str(self.server.make_url(path))

    def cid(self, name: str) -> str:
        channel = self.ws.channel_by_name(name)
        assert channel is not None
        return channel.id

    def client_with(self, **kwargs: Any) -> AsyncWebClient:
        return AsyncWebClient(base_url=self.url("/api/"), **kwargs)


@pytest.fixture
async def sb() -> AsyncIterator[Sandbox]:
    clock = FakeClock()
    ws = default_workspace(clock())
    app = web.Application()
    add_web_api_routes(app, ws, clock)
    server = TestServer(app, port=0)
    await server.start_server()
    client = AsyncWebClient(token=ws.bot_token, base_url=str(server.make_url("/api/")))
    yield Sandbox(ws, clock, server, client)
    await server.close()


async def slack_error(call: Any) -> SlackApiError:
    """Await a slack_sdk call that must fail; return its error."""
    with pytest.raises(SlackApiError) as info:
        await call
    return info.value


async def error_code(call: Any) -> str:
    err = await slack_error(call)
    assert err.response.status_code == 200
    assert err.response["ok"] is False
    return str(err.response["error"])


def add_user_message(sb: Sandbox, channel: str, text: str = "hello") -> Message:
    ts = sb.ws.next_ts(sb.clock())
    message = Message(ts=ts, channel=channel, user="U0ONCALL", text=text)
    sb.ws.channels[channel].messages.append(message)
    return message


# ---------------------------------------------------------------- auth, routing


async def test_auth_test_identifies_the_bot(sb: Sandbox) -> None:
    resp = await sb.client.auth_test()
    assert resp["user_id"] == "U0BOT"
    assert resp["bot_id"] == "B0BOT"
    assert resp["team_id"] == "T0SANDBOX"
    assert "chat:write" in resp.headers["X-OAuth-Scopes"]


async def test_missing_token_is_not_authed(sb: Sandbox) -> None:
    assert await error_code(sb.client_with().auth_test()) == "not_authed"


async def test_wrong_token_is_invalid_auth(sb: Sandbox) -> None:
    assert await error_code(sb.client_with(token="xoxb-wrong").auth_test()) == "invalid_auth"


async def test_token_as_form_parameter(sb: Sandbox) -> None:
    resp = await sb.client_with().api_call("auth.test", data={"token": sb.ws.bot_token})
    assert resp["ok"] is True


async def test_unknown_method(sb: Sandbox) -> None:
    assert await error_code(sb.client.api_call("chat.teleport")) == "unknown_method"


async def test_calls_are_recorded_without_the_token(sb: Sandbox) -> None:
    await sb.client.chat_postMessage(channel=sb.cid("general"), text="hi")
    method, params = sb.ws.calls[-1]
    assert method == "chat.postMessage"
    assert params == {"channel": sb.cid("general"), "text": "hi"}


# ---------------------------------------------------------------- conversations.create


async def test_create_channel(sb: Sandbox) -> None:
    resp = await sb.client.conversations_create(name="inc-2024-db_outage")
    channel = resp["channel"]
    assert channel["name"] == "inc-2024-db_outage"
    assert channel["id"].startswith("C")
    assert channel["is_member"] is True
    assert channel["is_private"] is False
    assert sb.ws.channels[channel["id"]].members == ["U0BOT"]


async def test_create_private_channel(sb: Sandbox) -> None:
    resp = await sb.client.conversations_create(name="sec-incident", is_private=True)
    assert resp["channel"]["is_private"] is True
    public = await sb.client.conversations_list()
    assert "sec-incident" not in [c["name"] for c in public["channels"]]
    private = await sb.client.conversations_list(types="private_channel")
    assert [c["name"] for c in private["channels"]] == ["sec-incident"]


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("Incident-1", "invalid_name_specials"),
        ("inc 1", "invalid_name_specials"),
        ("inc.1", "invalid_name_specials"),
        ("a" * 81, "invalid_name_maxlength"),
        ("", "invalid_name_required"),
        ("general", "name_taken"),
    ],
)
async def test_create_channel_name_rules(sb: Sandbox, name: str, code: str) -> None:
    assert await error_code(sb.client.conversations_create(name=name)) == code


async def test_create_channel_80_chars_is_fine(sb: Sandbox) -> None:
    resp = await sb.client.conversations_create(name="a" * 80)
    assert resp["channel"]["name"] == "a" * 80


async def test_archived_name_stays_taken(sb: Sandbox) -> None:
    cid = (await sb.client.conversations_create(name="inc-1"))["channel"]["id"]
    await sb.client.conversations_archive(channel=cid)
    assert await error_code(sb.client.conversations_create(name="inc-1")) == "name_taken"


# ---------------------------------------------------------------- invite, join, members


async def test_invite_users(sb: Sandbox) -> None:
    cid = (await sb.client.conversations_create(name="inc-2"))["channel"]["id"]
    await sb.client.conversations_invite(channel=cid, users=["U0IC", "U0COMMS"])
    members = await sb.client.conversations_members(channel=cid)
    assert members["members"] == ["U0BOT", "U0IC", "U0COMMS"]


async def test_invite_users_as_comma_string(sb: Sandbox) -> None:
    cid = (await sb.client.conversations_create(name="inc-3"))["channel"]["id"]
    await sb.client.conversations_invite(channel=cid, users="U0IC,U0LEAD")
    assert sb.ws.channels[cid].members == ["U0BOT", "U0IC", "U0LEAD"]


async def test_invite_errors(sb: Sandbox) -> None:
    cid = (await sb.client.conversations_create(name="inc-4"))["channel"]["id"]
    await sb.client.conversations_invite(channel=cid, users="U0IC")
    assert await error_code(sb.client.conversations_invite(channel="C404", users="U0IC")) == (
        "channel_not_found"
    )
    assert await error_code(sb.client.conversations_invite(channel=cid, users="U404")) == (
        "user_not_found"
    )
    assert await error_code(sb.client.conversations_invite(channel=cid, users="U0BOT")) == (
        "cant_invite_self"
    )
    err = await slack_error(sb.client.conversations_invite(channel=cid, users="U0IC,U0CTO"))
    assert err.response["error"] == "already_in_channel"
    assert err.response["errors"] == [{"user": "U0IC", "ok": False, "error": "already_in_channel"}]
    assert "U0CTO" not in sb.ws.channels[cid].members


async def test_invite_force_invites_the_valid_ones(sb: Sandbox) -> None:
    cid = (await sb.client.conversations_create(name="inc-5"))["channel"]["id"]
    resp = await sb.client.conversations_invite(channel=cid, users="U404,U0CTO", force=True)
    assert resp["errors"][0]["error"] == "user_not_found"
    assert "U0CTO" in sb.ws.channels[cid].members


async def test_invite_when_bot_is_not_a_member(sb: Sandbox) -> None:
    cid = sb.cid("general")
    sb.ws.channels[cid].members.remove("U0BOT")
    assert await error_code(sb.client.conversations_invite(channel=cid, users="U0IC")) == (
        "not_in_channel"
    )


async def test_join_public_channel(sb: Sandbox) -> None:
    cid = sb.cid("general")
    sb.ws.channels[cid].members.remove("U0BOT")
    resp = await sb.client.conversations_join(channel=cid)
    assert resp["channel"]["is_member"] is True
    again = await sb.client.conversations_join(channel=cid)
    assert again["warning"] == "already_in_channel"


async def test_private_channel_invisible_to_non_member_bot(sb: Sandbox) -> None:
    cid = (await sb.client.conversations_create(name="secret", is_private=True))["channel"]["id"]
    sb.ws.channels[cid].members.remove("U0BOT")
    assert await error_code(sb.client.conversations_info(channel=cid)) == "channel_not_found"


# ---------------------------------------------------------------- topic, purpose, info, archive


async def test_set_topic_and_purpose(sb: Sandbox) -> None:
    cid = sb.cid("dr-war-room")
    await sb.client.conversations_setTopic(channel=cid, topic="SEV1: db down")
    await sb.client.conversations_setPurpose(channel=cid, purpose="DR drills")
    info = await sb.client.conversations_info(channel=cid, include_num_members=True)
    assert info["channel"]["topic"]["value"] == "SEV1: db down"
    assert info["channel"]["purpose"]["value"] == "DR drills"
    assert info["channel"]["num_members"] == 6
    history = await sb.client.conversations_history(channel=cid)
    assert [m.get("subtype") for m in history["messages"]] == ["channel_purpose", "channel_topic"]


async def test_topic_length_limit(sb: Sandbox) -> None:
    cid = sb.cid("general")
    await sb.client.conversations_setTopic(channel=cid, topic="t" * 250)
    code = await error_code(sb.client.conversations_setTopic(channel=cid, topic="t" * 251))
    assert code == "too_long"
    assert sb.ws.channels[cid].topic == "t" * 250


async def test_info_unknown_channel(sb: Sandbox) -> None:
    assert await error_code(sb.client.conversations_info(channel="C404")) == "channel_not_found"


async def test_archive(sb: Sandbox) -> None:
    cid = (await sb.client.conversations_create(name="inc-6"))["channel"]["id"]
    await sb.client.conversations_archive(channel=cid)
    assert (await sb.client.conversations_info(channel=cid))["channel"]["is_archived"] is True
    assert await error_code(sb.client.conversations_archive(channel=cid)) == "already_archived"
    code = await error_code(sb.client.chat_postMessage(channel=cid, text="x"))
    assert code == "is_archived"
    listed = await sb.client.conversations_list(exclude_archived=True)
    assert "inc-6" not in [c["name"] for c in listed["channels"]]


async def test_list_paginates(sb: Sandbox) -> None:
    first = await sb.client.conversations_list(limit=3)
    assert len(first["channels"]) == 3
    cursor = first["response_metadata"]["next_cursor"]
    assert cursor
    second = await sb.client.conversations_list(limit=3, cursor=cursor)
    assert len(second["channels"]) == 1
    assert second["response_metadata"]["next_cursor"] == ""
    assert await error_code(sb.client.conversations_list(cursor="bogus!")) == "invalid_cursor"


# ---------------------------------------------------------------- DMs


async def test_open_dm(sb: Sandbox) -> None:
    resp = await sb.client.conversations_open(users="U0ONCALL")
    dm = resp["channel"]["id"]
    assert dm.startswith("D")
    again = await sb.client.conversations_open(users=["U0ONCALL"])
    assert again["already_open"] is True
    assert again["channel"]["id"] == dm
    info = await sb.client.conversations_info(channel=dm)
    assert info["channel"]["is_im"] is True
    assert info["channel"]["user"] == "U0ONCALL"
    assert await error_code(sb.client.conversations_open(users="U404")) == "user_not_found"


async def test_post_message_to_user_id_goes_to_the_dm(sb: Sandbox) -> None:
    resp = await sb.client.chat_postMessage(channel="U0IC", text="you're IC")
    assert resp["channel"].startswith("D")
    dm = (await sb.client.conversations_open(users="U0IC"))["channel"]["id"]
    assert dm == resp["channel"]
    assert [m.text for m in sb.ws.channels[dm].messages] == ["you're IC"]


# ---------------------------------------------------------------- chat.postMessage


async def test_post_message_by_id_name_and_hash_name(sb: Sandbox) -> None:
    cid = sb.cid("alerts-queues")
    a = await sb.client.chat_postMessage(channel=cid, text="one")
    b = await sb.client.chat_postMessage(channel="#alerts-queues", text="two")
    c = await sb.client.chat_postMessage(channel="alerts-queues", text="three")
    assert a["channel"] == b["channel"] == c["channel"] == cid
    assert float(a["ts"]) < float(b["ts"]) < float(c["ts"])
    assert a["ts"] == "1700000000.000000"
    assert a["message"]["bot_id"] == "B0BOT"
    assert a["message"]["text"] == "one"


async def test_ts_strictly_increasing_with_a_frozen_clock(sb: Sandbox) -> None:
    stamps = [
        (await sb.client.chat_postMessage(channel=sb.cid("general"), text=str(i)))["ts"]
        for i in range(5)
    ]
    assert stamps == sorted(stamps, key=float)
    assert len(set(stamps)) == 5
    assert all(len(ts.split(".")[1]) == 6 for ts in stamps)


async def test_post_message_errors(sb: Sandbox) -> None:
    cid = sb.cid("general")
    assert await error_code(sb.client.chat_postMessage(channel="C404", text="x")) == (
        "channel_not_found"
    )
    assert await error_code(sb.client.chat_postMessage(channel="#nope", text="x")) == (
        "channel_not_found"
    )
    assert await error_code(sb.client.chat_postMessage(channel=cid, text="")) == "no_text"
    assert await error_code(sb.client.chat_postMessage(channel=cid, text="x" * 40_001)) == (
        "msg_too_long"
    )
    sb.ws.channels[cid].members.remove("U0BOT")
    assert await error_code(sb.client.chat_postMessage(channel=cid, text="x")) == ("not_in_channel")


async def test_post_message_40000_chars_is_fine(sb: Sandbox) -> None:
    resp = await sb.client.chat_postMessage(channel=sb.cid("general"), text="x" * 40_000)
    assert resp["ok"] is True


def section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


async def test_post_message_with_blocks_only(sb: Sandbox) -> None:
    blocks = [section("*SEV1*"), {"type": "divider"}]
    resp = await sb.client.chat_postMessage(channel=sb.cid("general"), blocks=blocks)
    assert resp["message"]["blocks"] == blocks


async def test_too_many_blocks(sb: Sandbox) -> None:
    err = await slack_error(
        sb.client.chat_postMessage(channel=sb.cid("general"), blocks=[section("x")] * 51)
    )
    assert err.response["error"] == "invalid_blocks"
    assert "no more than 50 items" in err.response["errors"][0]


async def test_section_text_over_3000_chars(sb: Sandbox) -> None:
    err = await slack_error(
        sb.client.chat_postMessage(channel=sb.cid("general"), blocks=[section("x" * 3001)])
    )
    assert err.response["error"] == "invalid_blocks"
    assert err.response["errors"] == [
        "must be less than 3001 characters [json-pointer:/blocks/0/text/text]"
    ]


@pytest.mark.parametrize(
    "blocks",
    [
        [{"type": "sektion"}],
        [{"type": "section"}],
        [{"type": "header", "text": {"type": "mrkdwn", "text": "no"}}],
        [{"type": "actions", "elements": []}],
        [section("a") | {"block_id": "b"}, section("b") | {"block_id": "b"}],
        [
            {
                "type": "actions",
                "elements": [{"type": "button", "text": {"type": "plain_text", "text": "x" * 76}}],
            }
        ],
    ],
)
async def test_malformed_blocks(sb: Sandbox, blocks: list[dict[str, Any]]) -> None:
    code = await error_code(sb.client.chat_postMessage(channel=sb.cid("general"), blocks=blocks))
    assert code == "invalid_blocks"


async def test_form_encoded_blocks_as_json_string(sb: Sandbox) -> None:
    blocks = [section("from a form")]
    resp = await sb.client.api_call(
        "chat.postMessage",
        data={"channel": sb.cid("general"), "blocks": json.dumps(blocks), "text": "fallback"},
    )
    assert resp["message"]["blocks"] == blocks
    code = await error_code(
        sb.client.api_call("chat.postMessage", data={"channel": sb.cid("general"), "blocks": "{"})
    )
    assert code == "invalid_json"


async def test_thread_replies(sb: Sandbox) -> None:
    cid = sb.cid("general")
    parent = await sb.client.chat_postMessage(channel=cid, text="parent")
    await sb.client.chat_postMessage(channel=cid, text="reply", thread_ts=parent["ts"])
    history = await sb.client.conversations_history(channel=cid)
    assert [m["text"] for m in history["messages"]] == ["parent"]
    assert history["messages"][0]["reply_count"] == 1
    replies = await sb.client.conversations_replies(channel=cid, ts=parent["ts"])
    assert [m["text"] for m in replies["messages"]] == ["parent", "reply"]


async def test_history_window_and_pagination(sb: Sandbox) -> None:
    cid = sb.cid("general")
    stamps = []
    for i in range(5):
        sb.clock.advance(1)
        stamps.append((await sb.client.chat_postMessage(channel=cid, text=f"m{i}"))["ts"])
    page = await sb.client.conversations_history(channel=cid, limit=2)
    assert [m["text"] for m in page["messages"]] == ["m4", "m3"]
    assert page["has_more"] is True
    rest = await sb.client.conversations_history(
        channel=cid, limit=10, cursor=page["response_metadata"]["next_cursor"]
    )
    assert [m["text"] for m in rest["messages"]] == ["m2", "m1", "m0"]
    window = await sb.client.conversations_history(channel=cid, oldest=stamps[2])
    assert [m["text"] for m in window["messages"]] == ["m4", "m3"]


# ---------------------------------------------------------------- update, ephemeral, permalink


async def test_update_message(sb: Sandbox) -> None:
    cid = sb.cid("general")
    posted = await sb.client.chat_postMessage(channel=cid, text="status: investigating")
    resp = await sb.client.chat_update(channel=cid, ts=posted["ts"], text="status: resolved")
    assert resp["text"] == "status: resolved"
    assert sb.ws.channels[cid].messages[-1].text == "status: resolved"
    assert sb.ws.channels[cid].messages[-1].edited is True


async def test_update_errors(sb: Sandbox) -> None:
    cid = sb.cid("general")
    code = await error_code(sb.client.chat_update(channel=cid, ts="1.000001", text="x"))
    assert code == "message_not_found"
    theirs = add_user_message(sb, cid)
    code = await error_code(sb.client.chat_update(channel=cid, ts=theirs.ts, text="x"))
    assert code == "cant_update_message"


async def test_post_ephemeral(sb: Sandbox) -> None:
    cid = sb.cid("general")
    resp = await sb.client.chat_postEphemeral(channel=cid, user="U0ONCALL", text="only you")
    message = sb.ws.channels[cid].messages[-1]
    assert message.ts == resp["message_ts"]
    assert message.ephemeral_to == "U0ONCALL"
    history = await sb.client.conversations_history(channel=cid)
    assert history["messages"] == []


async def test_post_ephemeral_user_not_in_channel(sb: Sandbox) -> None:
    cid = (await sb.client.conversations_create(name="inc-7"))["channel"]["id"]
    code = await error_code(sb.client.chat_postEphemeral(channel=cid, user="U0IC", text="x"))
    assert code == "user_not_in_channel"
    code = await error_code(sb.client.chat_postEphemeral(channel=cid, user="U404", text="x"))
    assert code == "user_not_found"


async def test_get_permalink(sb: Sandbox) -> None:
    cid = sb.cid("general")
    posted = await sb.client.chat_postMessage(channel=cid, text="x")
    resp = await sb.client.chat_getPermalink(channel=cid, message_ts=posted["ts"])
    assert resp["permalink"].endswith(f"/archives/{cid}/p{posted['ts'].replace('.', '')}")
    code = await error_code(sb.client.chat_getPermalink(channel=cid, message_ts="1.000002"))
    assert code == "message_not_found"


# ---------------------------------------------------------------- pins, bookmarks, reactions


async def test_pins(sb: Sandbox) -> None:
    cid = sb.cid("dr-war-room")
    ts = (await sb.client.chat_postMessage(channel=cid, text="runbook"))["ts"]
    await sb.client.pins_add(channel=cid, timestamp=ts)
    assert await error_code(sb.client.pins_add(channel=cid, timestamp=ts)) == "already_pinned"
    listed = await sb.client.pins_list(channel=cid)
    assert [i["message"]["text"] for i in listed["items"]] == ["runbook"]
    await sb.client.pins_remove(channel=cid, timestamp=ts)
    assert await error_code(sb.client.pins_remove(channel=cid, timestamp=ts)) == "no_pin"
    code = await error_code(sb.client.pins_add(channel=cid, timestamp="1.000003"))
    assert code == "message_not_found"


async def test_bookmarks(sb: Sandbox) -> None:
    cid = sb.cid("dr-war-room")
    resp = await sb.client.bookmarks_add(
        channel_id=cid, title="Dashboard", type="link", link="https://grafana.example.com/d/1"
    )
    assert resp["bookmark"]["title"] == "Dashboard"
    listed = await sb.client.bookmarks_list(channel_id=cid)
    assert [b["link"] for b in listed["bookmarks"]] == ["https://grafana.example.com/d/1"]
    code = await error_code(
        sb.client.bookmarks_add(channel_id=cid, title="x", type="link", link="ftp://nope")
    )
    assert code == "invalid_link"


async def test_reactions(sb: Sandbox) -> None:
    cid = sb.cid("general")
    ts = (await sb.client.chat_postMessage(channel=cid, text="ack?"))["ts"]
    await sb.client.reactions_add(channel=cid, timestamp=ts, name="eyes")
    code = await error_code(sb.client.reactions_add(channel=cid, timestamp=ts, name="eyes"))
    assert code == "already_reacted"
    history = await sb.client.conversations_history(channel=cid)
    assert history["messages"][0]["reactions"] == [{"name": "eyes", "users": ["U0BOT"], "count": 1}]
    await sb.client.reactions_remove(channel=cid, timestamp=ts, name="eyes")
    code = await error_code(sb.client.reactions_remove(channel=cid, timestamp=ts, name="eyes"))
    assert code == "no_reaction"
    code = await error_code(sb.client.reactions_add(channel=cid, timestamp=ts, name="Not An Emoji"))
    assert code == "invalid_name"


# ---------------------------------------------------------------- users, usergroups


async def test_users(sb: Sandbox) -> None:
    info = await sb.client.users_info(user="U0IC")
    assert info["user"]["real_name"] == "Ismail Commander"
    assert info["user"]["profile"]["email"] == "ic@example.com"
    assert await error_code(sb.client.users_info(user="U404")) == "user_not_found"
    found = await sb.client.users_lookupByEmail(email="cto@example.com")
    assert found["user"]["id"] == "U0CTO"
    code = await error_code(sb.client.users_lookupByEmail(email="nobody@example.com"))
    assert code == "users_not_found"
    everyone = await sb.client.users_list()
    assert len(everyone["members"]) == 6


async def test_usergroups(sb: Sandbox) -> None:
    groups = await sb.client.usergroups_list(include_users=True)
    assert {g["handle"]: g["users"] for g in groups["usergroups"]}["oncall-ops"] == [
        "U0ONCALL",
        "U0LEAD",
    ]
    users = await sb.client.usergroups_users_list(usergroup="S0IC")
    assert users["users"] == ["U0IC"]
    code = await error_code(sb.client.usergroups_users_list(usergroup="S404"))
    assert code == "no_such_subteam"


# ---------------------------------------------------------------- views

MODAL: dict[str, Any] = {
    "type": "modal",
    "callback_id": "declare",
    "title": {"type": "plain_text", "text": "Declare incident"},
    "submit": {"type": "plain_text", "text": "Declare"},
    "blocks": [
        {
            "type": "input",
            "block_id": "title",
            "label": {"type": "plain_text", "text": "Title"},
            "element": {"type": "plain_text_input", "action_id": "value"},
        }
    ],
}


async def test_views_open_with_a_fresh_trigger(sb: Sandbox) -> None:
    sb.ws.triggers["trig-1"] = sb.clock()
    sb.clock.advance(2.5)
    resp = await sb.client.views_open(trigger_id="trig-1", view=MODAL)
    view = resp["view"]
    assert view["id"].startswith("V")
    assert view["callback_id"] == "declare"
    assert sb.ws.views[view["id"]]["title"]["text"] == "Declare incident"
    code = await error_code(sb.client.views_open(trigger_id="trig-1", view=MODAL))
    assert code == "exchanged_trigger_id"


async def test_views_open_trigger_errors(sb: Sandbox) -> None:
    sb.ws.triggers["trig-old"] = sb.clock()
    sb.clock.advance(3)
    code = await error_code(sb.client.views_open(trigger_id="trig-old", view=MODAL))
    assert code == "expired_trigger_id"
    code = await error_code(sb.client.views_open(trigger_id="trig-unknown", view=MODAL))
    assert code == "invalid_trigger_id"


async def test_views_open_invalid_view(sb: Sandbox) -> None:
    sb.ws.triggers["trig-2"] = sb.clock()
    bad = MODAL | {"title": {"type": "plain_text", "text": "x" * 25}}
    err = await slack_error(sb.client.views_open(trigger_id="trig-2", view=bad))
    assert err.response["error"] == "invalid_arguments"
    assert "/view/title/text" in err.response["response_metadata"]["messages"][0]


async def test_views_update_and_push(sb: Sandbox) -> None:
    sb.ws.triggers["trig-3"] = sb.clock()
    opened = (await sb.client.views_open(trigger_id="trig-3", view=MODAL))["view"]
    updated = await sb.client.views_update(
        view_id=opened["id"], hash=opened["hash"], view=MODAL | {"callback_id": "declare2"}
    )
    assert updated["view"]["callback_id"] == "declare2"
    code = await error_code(
        sb.client.views_update(view_id=opened["id"], hash=opened["hash"], view=MODAL)
    )
    assert code == "hash_conflict"
    assert await error_code(sb.client.views_update(view_id="V404", view=MODAL)) == "not_found"
    sb.ws.triggers["trig-4"] = sb.clock()
    pushed = (await sb.client.views_push(trigger_id="trig-4", view=MODAL))["view"]
    assert pushed["previous_view_id"] == opened["id"]
    assert pushed["root_view_id"] == opened["id"]


# ---------------------------------------------------------------- files upload v2


async def test_files_upload_v2_round_trip(sb: Sandbox) -> None:
    cid = sb.cid("dr-war-room")
    resp = await sb.client.files_upload_v2(
        channel=cid,
        filename="timeline.md",
        content="# Timeline\n- 10:00 paged\n",
        title="Incident timeline",
        initial_comment="Timeline attached",
    )
    file_id = resp["file"]["id"]
    assert resp["file"]["title"] == "Incident timeline"
    assert sb.ws.files[file_id]["content"] == b"# Timeline\n- 10:00 paged\n"
    message = sb.ws.channels[cid].messages[-1]
    assert message.text == "Timeline attached"
    assert [f["id"] for f in message.files] == [file_id]
    history = await sb.client.conversations_history(channel=cid)
    assert history["messages"][0]["files"][0]["name"] == "timeline.md"


async def test_files_upload_v2_in_a_thread(sb: Sandbox) -> None:
    cid = sb.cid("general")
    parent = (await sb.client.chat_postMessage(channel=cid, text="parent"))["ts"]
    await sb.client.files_upload_v2(
        channel=cid, filename="a.txt", content=b"\x00\x01bytes", thread_ts=parent
    )
    assert sb.ws.channels[cid].messages[-1].thread_ts == parent


async def test_complete_upload_unknown_file(sb: Sandbox) -> None:
    code = await error_code(
        sb.client.files_completeUploadExternal(files=[{"id": "F404", "title": "x"}])
    )
    assert code == "file_not_found"


async def test_complete_upload_before_the_upload(sb: Sandbox) -> None:
    ticket = await sb.client.files_getUploadURLExternal(filename="a.txt", length=3)
    assert ticket["upload_url"].startswith(sb.url("/upload/"))
    code = await error_code(
        sb.client.files_completeUploadExternal(files=[{"id": ticket["file_id"]}])
    )
    assert code == "file_not_found"


async def test_upload_url_accepts_multipart(sb: Sandbox) -> None:
    ticket = await sb.client.files_getUploadURLExternal(filename="notes.txt", length=5)
    form = aiohttp.FormData()
    form.add_field("filename", b"notes", filename="notes.txt")
    async with aiohttp.ClientSession() as http, http.post(ticket["upload_url"], data=form) as resp:
        assert resp.status == 200
        assert await resp.text() == "OK - 5"
    await sb.client.files_completeUploadExternal(
        files=[{"id": ticket["file_id"], "title": "Notes"}], channel_id=sb.cid("general")
    )
    assert sb.ws.files[ticket["file_id"]]["content"] == b"notes"
    assert sb.ws.channels[sb.cid("general")].messages[-1].files[0]["title"] == "Notes"


async def test_get_upload_url_argument_rules(sb: Sandbox) -> None:
    code = await error_code(sb.client.files_getUploadURLExternal(filename="a.txt", length=0))
    assert code == "missing_argument"
    code = await error_code(
        sb.client.files_completeUploadExternal(files=[{"id": "F1"}], channel_id="C404")
    )
    assert code == "file_not_found"


async def test_upload_url_under_a_mounted_sub_app() -> None:
    clock = FakeClock()
    ws = default_workspace(clock())
    sandbox = web.Application()
    add_web_api_routes(sandbox, ws, clock)
    root = web.Application()
    root.add_subapp("/sandbox", sandbox)
    server = TestServer(root, port=0)
    await server.start_server()
    try:
        client = AsyncWebClient(token=ws.bot_token, base_url=str(server.make_url("/sandbox/api/")))
        ticket = await client.files_getUploadURLExternal(filename="a.txt", length=3)
        assert ticket["upload_url"] == str(server.make_url(f"/sandbox/upload/{ticket['file_id']}"))
        channel = ws.channel_by_name("general")
        assert channel is not None
        resp = await client.files_upload_v2(channel=channel.id, filename="b.txt", content="abc")
        assert ws.files[resp["file"]["id"]]["content"] == b"abc"
    finally:
        await server.close()


# ---------------------------------------------------------------- faults


async def test_rate_limit_fault_is_seen_by_slack_sdk(sb: Sandbox) -> None:
    sb.ws.faults["chat.postMessage"] = Fault(status=429, retry_after=7, remaining=1)
    err = await slack_error(sb.client.chat_postMessage(channel=sb.cid("general"), text="x"))
    assert err.response.status_code == 429
    assert err.response.headers["Retry-After"] == "7"
    assert err.response["error"] == "ratelimited"
    assert "chat.postMessage" not in sb.ws.faults
    assert (await sb.client.chat_postMessage(channel=sb.cid("general"), text="x"))["ok"]


async def test_rate_limit_retry_handler_succeeds_after_the_fault(sb: Sandbox) -> None:
    sb.ws.faults["chat.postMessage"] = Fault(status=429, retry_after=0, remaining=2)
    client = sb.client_with(
        token=sb.ws.bot_token, retry_handlers=[AsyncRateLimitErrorRetryHandler(max_retry_count=2)]
    )
    resp = await client.chat_postMessage(channel=sb.cid("general"), text="after retries")
    assert resp["ok"] is True
    assert [m for m, _ in sb.ws.calls].count("chat.postMessage") == 3
    assert [m.text for m in sb.ws.channels[sb.cid("general")].messages] == ["after retries"]


async def test_server_error_fault(sb: Sandbox) -> None:
    sb.ws.faults["conversations.create"] = Fault(status=503, remaining=-1)
    for _ in range(2):
        err = await slack_error(sb.client.conversations_create(name="inc-8"))
        assert err.response.status_code == 503
    assert sb.ws.channel_by_name("inc-8") is None
    assert sb.ws.faults["conversations.create"].remaining == -1


async def test_server_error_retry_handler(sb: Sandbox) -> None:
    sb.ws.faults["auth.test"] = Fault(status=500, remaining=1)
    client = sb.client_with(
        token=sb.ws.bot_token, retry_handlers=[AsyncServerErrorRetryHandler(max_retry_count=1)]
    )
    assert (await client.auth_test())["ok"] is True


async def test_delay_fault_times_the_client_out(sb: Sandbox) -> None:
    sb.ws.faults["auth.test"] = Fault(status=200, delay_seconds=1.5, remaining=1)
    client = sb.client_with(token=sb.ws.bot_token, timeout=1)
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        await client.auth_test()
    assert time.monotonic() - started < 1.4


async def test_fault_control_endpoints(sb: Sandbox) -> None:
    async with aiohttp.ClientSession() as http:
        fault = {"method": "users.info", "status": 429, "retry_after": 3, "remaining": 2}
        async with http.post(sb.url("/_sandbox/faults"), json=fault) as resp:
            assert resp.status == 200
        assert sb.ws.faults["users.info"] == Fault(status=429, retry_after=3, remaining=2)
        err = await slack_error(sb.client.users_info(user="U0IC"))
        assert err.response.status_code == 429
        async with http.delete(sb.url("/_sandbox/faults")) as resp:
            assert resp.status == 200
        assert sb.ws.faults == {}
        assert (await sb.client.users_info(user="U0IC"))["ok"] is True
        async with http.post(sb.url("/_sandbox/faults"), json={"status": 429}) as resp:
            assert resp.status == 400


# ---------------------------------------------------------------- state, reset


async def test_state_and_reset(sb: Sandbox) -> None:
    await sb.client.conversations_create(name="inc-9")
    async with aiohttp.ClientSession() as http:
        async with http.get(sb.url("/_sandbox/state")) as resp:
            state = await resp.json()
        names = [c["name"] for c in state["channels"]]
        assert "inc-9" in names
        inc = next(c for c in state["channels"] if c["name"] == "inc-9")
        assert inc["members"] == ["U0BOT"]
        assert inc["messages"][0]["subtype"] == "channel_join"
        assert state["calls"][-1]["method"] == "conversations.create"
        assert len(state["users"]) == 6
        async with http.post(sb.url("/_sandbox/reset")) as resp:
            assert resp.status == 200
    assert sb.ws.channel_by_name("inc-9") is None
    assert sb.ws.calls == []
    assert (await sb.client.auth_test())["ok"] is True


# ---------------------------------------------------------------- response_url


async def test_response_url_ephemeral_by_default(sb: Sandbox) -> None:
    cid = sb.cid("general")
    token = new_response_url(sb.ws, channel=cid, user="U0ONCALL", now=sb.clock())
    resp = await AsyncWebhookClient(sb.url(f"/response/{token}")).send(text="only you see this")
    assert resp.status_code == 200
    message = sb.ws.channels[cid].messages[-1]
    assert message.text == "only you see this"
    assert message.ephemeral_to == "U0ONCALL"


async def test_response_url_in_channel(sb: Sandbox) -> None:
    cid = sb.cid("general")
    token = new_response_url(sb.ws, channel=cid, user="U0ONCALL", now=sb.clock())
    hook = AsyncWebhookClient(sb.url(f"/response/{token}"))
    await hook.send(text="everyone sees this", response_type="in_channel")
    message = sb.ws.channels[cid].messages[-1]
    assert message.ephemeral_to is None
    assert message.user == "U0BOT"


async def test_response_url_replace_and_delete_original(sb: Sandbox) -> None:
    cid = sb.cid("general")
    original = (await sb.client.chat_postMessage(channel=cid, text="[Ack]"))["ts"]
    token = new_response_url(
        sb.ws, channel=cid, user="U0ONCALL", now=sb.clock(), message_ts=original
    )
    hook = AsyncWebhookClient(sb.url(f"/response/{token}"))
    await hook.send(text="Acked by Olivia", replace_original=True)
    assert [m.text for m in sb.ws.channels[cid].messages] == ["Acked by Olivia"]
    await hook.send_dict({"delete_original": True})
    assert sb.ws.channels[cid].messages == []


async def test_response_url_allows_five_posts(sb: Sandbox) -> None:
    token = new_response_url(sb.ws, channel=sb.cid("general"), user="U0IC", now=sb.clock())
    hook = AsyncWebhookClient(sb.url(f"/response/{token}"))
    for i in range(5):
        assert (await hook.send(text=f"post {i}")).status_code == 200
    sixth = await hook.send(text="one too many")
    assert sixth.status_code == 404
    assert json.loads(sixth.body)["error"] == "used_url"


async def test_response_url_expires_after_30_minutes(sb: Sandbox) -> None:
    token = new_response_url(sb.ws, channel=sb.cid("general"), user="U0IC", now=sb.clock())
    hook = AsyncWebhookClient(sb.url(f"/response/{token}"))
    sb.clock.advance(29 * 60)
    assert (await hook.send(text="still fine")).status_code == 200
    sb.clock.advance(2 * 60)
    late = await hook.send(text="too late")
    assert late.status_code == 404
    assert json.loads(late.body)["error"] == "expired_url"


async def test_response_url_unknown_token(sb: Sandbox) -> None:
    resp = await AsyncWebhookClient(sb.url("/response/nope")).send(text="x")
    assert resp.status_code == 404
