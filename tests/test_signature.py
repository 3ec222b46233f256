"""The signature check on its own: bytes, window edges, constant-time compare inputs."""

from __future__ import annotations

from bot.sandbox.slack_requests import sign
from bot.slack.signature import is_valid_slack_request

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
BODY = b"token=x&command=%2Fincident&text=declare+critical+x"
NOW = 1_700_000_000


def test_valid_signature_inside_the_window() -> None:
    for skew in (0, -299, 299, -300, 300):
        ts = NOW + skew
        assert is_valid_slack_request(BODY, str(ts), sign(BODY, ts, SECRET), SECRET, NOW)


def test_outside_the_window_is_refused() -> None:
    for skew in (-301, 301, -3600):
        ts = NOW + skew
        assert not is_valid_slack_request(BODY, str(ts), sign(BODY, ts, SECRET), SECRET, NOW)


def test_tampering_and_missing_parts_are_refused() -> None:
    good = sign(BODY, NOW, SECRET)
    assert not is_valid_slack_request(BODY + b"x", str(NOW), good, SECRET, NOW)
    assert not is_valid_slack_request(BODY, str(NOW + 1), good, SECRET, NOW)
    assert not is_valid_slack_request(BODY, str(NOW), good, "other-secret", NOW)
    assert not is_valid_slack_request(BODY, str(NOW), good.upper(), SECRET, NOW)
    assert not is_valid_slack_request(BODY, None, good, SECRET, NOW)
    assert not is_valid_slack_request(BODY, str(NOW), None, SECRET, NOW)
    assert not is_valid_slack_request(BODY, "-12", good, SECRET, NOW)
    assert not is_valid_slack_request(BODY, "1e9", good, SECRET, NOW)
    assert not is_valid_slack_request(BODY, str(NOW), good, "", NOW)


def test_non_utf8_bodies_are_checked_not_crashed_on() -> None:
    body = b"\xff\xfe\x00"
    assert is_valid_slack_request(body, str(NOW), sign(body, NOW, SECRET), SECRET, NOW)
