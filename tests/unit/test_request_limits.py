"""Size limits without a server: the body-limit middleware, the payload walk, login sessions bound
to a stamp, the decision log's cap on what it keeps of a request, the dummy password hash."""

from __future__ import annotations

import asyncio
import json
import logging
import time

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from assistant.app.payload_limits import PayloadLimits, PayloadTooLarge, check_payload
from assistant.decisions.logged import MAX_LOGGED_REQUEST_CHARS, loggable_request
from assistant.web.limits import BodyLimit
from assistant.web.session_tokens import SessionTokens

SECRET = "PAYLOAD-TEXT"


async def echo(request: Request) -> JSONResponse:
    body = await request.body()
    return JSONResponse({"bytes": len(body)})


async def swallowing(request: Request) -> JSONResponse:
    try:
        await request.body()
    except Exception:
        return JSONResponse({"error": "parse failed"}, status_code=400)  # the app's own answer
    return JSONResponse({"ok": True})


def limited_app() -> BodyLimit:
    app = Starlette(
        routes=[
            Route("/call", echo, methods=["POST"]),
            Route("/swallow", swallowing, methods=["POST"]),
            Route("/gradio_api/upload", echo, methods=["POST"]),
        ]
    )
    return BodyLimit(app, max_bytes=1000, upload_bytes=5000)


def post(path: str, content: object, headers: dict[str, str] | None = None) -> httpx.Response:
    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=limited_app())
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return await client.post(path, content=content, headers=headers)  # type: ignore[arg-type]

    return asyncio.run(go())


def chunks(total: int):  # type: ignore[no-untyped-def]
    async def gen():  # type: ignore[no-untyped-def]
        for _ in range(total // 100):
            yield b"x" * 100

    return gen()


def test_a_declared_length_over_the_limit_is_refused_unread(caplog):
    with caplog.at_level(logging.WARNING, logger="align.refused"):
        answer = post("/call", SECRET.encode() * 200)
    assert answer.status_code == 413 and "at most 0.0 MB per request" in answer.json()["detail"]
    assert post("/call", b"x" * 900).json() == {"bytes": 900}
    assert "declared_bytes=2400" in caplog.text and SECRET not in caplog.text


def test_a_streamed_body_is_counted_and_the_apps_own_answer_replaced():
    assert post("/call", chunks(900)).json() == {"bytes": 900}
    assert post("/call", chunks(5000)).status_code == 413
    assert post("/swallow", chunks(5000)).status_code == 413  # not the app's 400


def test_uploads_have_their_own_limit_and_must_announce_their_length():
    assert post("/gradio_api/upload", b"x" * 4000).json() == {"bytes": 4000}
    big = post("/gradio_api/upload", b"x" * 200_000)
    assert big.status_code == 413 and "per file" in big.json()["detail"]
    unannounced = post("/gradio_api/upload", chunks(100))
    assert unannounced.status_code == 411 and "size announced" in unannounced.json()["detail"]


def test_the_payload_walk_refuses_texts_lists_numbers_and_nesting(caplog):
    limits = PayloadLimits(max_text_chars=100, max_items=10, max_depth=5)
    check_payload({"a": ["x" * 100, 2**53 - 1, 1.5, None, True]}, limits, what="t")
    cases = [
        ({"scenario": SECRET * 20}, "scenario has 240 characters; the limit is 100: shorten it"),
        ({"choices": ["a"] * 11}, "choices has 11 items; the limit is 10"),
        ({"targets": {str(i): 0.5 for i in range(11)}}, "targets has 11 entries"),
        ({"seed": 10**400}, "seed is too large a number"),
        ({"p": [[[[[["x"]]]]]]}, "nested deeper than 5 levels"),
        ({SECRET * 20: 1}, "a key in the request has 240 characters"),
    ]
    with caplog.at_level(logging.WARNING, logger="align.refused"):
        for payload, message in cases:
            with pytest.raises(PayloadTooLarge, match=message):
                check_payload(payload, limits, what="decide", user="bob")
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == len(cases) and all(len(x) < 200 and SECRET not in x for x in lines), lines
    assert "refused decide: user=bob field=scenario chars=240 limit=100" in lines


def test_sessions_end_when_the_stamp_changes_or_the_user_goes():
    stamps = {"alice": "1.1", "bob": "2.1"}
    tokens = SessionTokens(stamps.get)
    tokens["t1"], tokens["t2"], tokens["t3"] = "alice", "alice", "bob"
    assert tokens.get("t1") == "alice" and isinstance(tokens, dict)
    stamps["alice"] = "1.2"  # her password changed (on any replica: the stamp is in the database)
    assert tokens.renew("t2", "alice")  # her own change keeps this one session
    assert tokens.get("t1") is None and "t1" not in tokens
    assert tokens.get("t2") == "alice" and tokens.get("t3") == "bob"
    del stamps["bob"]  # deleted
    assert tokens.get("t3") is None
    stamps["bob"] = "9.1"  # a new user of the same name: the old token stays dead
    assert tokens.get("t3") is None and not tokens.renew("t3", "bob")


def test_sessions_fail_closed_and_are_bounded_per_user():
    def broken(name: str) -> str:
        raise RuntimeError("database down")

    tokens = SessionTokens(broken)
    tokens["t"] = "alice"
    assert tokens.get("t") is None
    many = SessionTokens(lambda n: "1.1", max_per_user=3)
    for i in range(10):
        many[f"t{i}"] = "alice"
    assert sorted(many) == ["t7", "t8", "t9"]


def test_sessions_end_when_idle_too_long_and_in_any_case_after_their_lifetime():
    from tests.helpers.clock import Clock

    clock = Clock()
    day = 24 * 3600.0
    tokens = SessionTokens(lambda n: "1.1", idle_s=7 * day, lifetime_s=30 * day, clock=clock)
    tokens["used"], tokens["forgotten"] = "alice", "alice"
    for _ in range(4):  # used every 6 days: kept
        clock.now += 6 * day
        assert tokens.get("used") == "alice"
    assert tokens.get("forgotten") is None and "forgotten" not in tokens  # idle for 24 days
    clock.now += 6.5 * day  # 30.5 days after the login: over, however often it is used
    assert tokens.get("used") is None and "used" not in tokens
    tokens["fresh"] = "alice"  # a new login starts over
    clock.now += 6 * day
    assert tokens.get("fresh") == "alice"
    tokens["stale"] = "bob"
    clock.now += 8 * day
    tokens["other"] = "bob"  # a login drops the sessions that ended without being shown again
    assert sorted(tokens) == ["other"]


def test_the_decision_log_keeps_a_large_request_only_as_sizes():
    small = {"scenario": "x" * 8000, "choices": ["c" * 500] * 26}
    assert loggable_request(small) is small
    large = {"scenario": SECRET * 10_000, "choices": ["a", "b"], "params": {}}
    kept = loggable_request(large)
    assert len(json.dumps(kept)) < 300 and SECRET not in json.dumps(kept)
    assert kept["scenario_chars"] == len(SECRET) * 10_000 and kept["json_chars"] > MAX_LOGGED_REQUEST_CHARS


def test_an_unknown_name_costs_a_password_check():
    from profiles.passwords import hash_password, verify_password

    real = hash_password("a-real-password")
    verify_password(None, "warm-up")  # the dummy hash is made once
    started = time.perf_counter()
    assert not verify_password(real, "wrong-password")
    known = time.perf_counter() - started
    started = time.perf_counter()
    assert not verify_password(None, "wrong-password")
    unknown = time.perf_counter() - started
    assert unknown > known / 3, (known, unknown)


def test_a_database_blip_ends_no_session():
    state = {"down": 0}

    def stamp(name: str) -> str:
        if state["down"]:
            state["down"] -= 1
            raise RuntimeError("server closed the connection unexpectedly")
        return "1.1"

    tokens = SessionTokens(stamp)
    tokens["t"] = "alice"
    state["down"] = 1  # one cut pooled connection: the second read answers
    assert tokens.get("t") == "alice"
    state["down"] = 10  # down for this request: refused (fail closed), but the session is kept
    assert tokens.get("t") is None and "t" in tokens
    state["down"] = 0  # back: the same cookie works again
    assert tokens.get("t") == "alice"
