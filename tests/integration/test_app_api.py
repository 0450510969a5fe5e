"""The named API endpoints through gradio_client against a live ``align serve`` (login enforced)."""

from __future__ import annotations

import re
import time

import httpx
import pytest
from gradio_client import Client
from gradio_client.exceptions import AppError, AuthenticationError

from tests.helpers.web import gradio_clients

SCENARIO = {
    "scenario": "Two people are hurt after a car crash and there is one medical kit.",
    "choices": ["Treat the driver who caused the crash", "Treat the passenger of the other car"],
}


@pytest.fixture(scope="module")
def clients(app_server):
    with gradio_clients(app_server.url, "root", "alice", "bob") as made:
        yield made


def test_no_login_no_access(app_server):
    with pytest.raises(AuthenticationError, match="credentials were not provided"):
        Client(app_server.url, verbose=False)
    with pytest.raises(ValueError, match="Could not login"):  # gradio answers 400 "Incorrect credentials"
        Client(app_server.url, auth=("alice", "wrong-password"), verbose=False)
    # the raw HTTP API refuses too
    answer = httpx.post(f"{app_server.url}/gradio_api/call/decide", json={"data": [SCENARIO]}, timeout=10)
    assert answer.status_code in (401, 403)


def test_decide_random_is_logged_for_the_caller(app_server, clients):
    started = time.perf_counter()
    result = clients["alice"].predict({**SCENARIO, "algorithm": "random", "seed": 7}, api_name="/decide")
    elapsed = time.perf_counter() - started
    assert result["algorithm"] == "random" and result["choice"] in SCENARIO["choices"]
    assert result["scores"][result["choice_index"]]["choice"] == result["choice"]
    store = app_server.open_store()
    try:
        entry = store.log.get(store.users.actor("alice"), result["log_id"])
        assert entry.user == "alice" and entry.status == "ok" and entry.request["seed"] == 7
    finally:
        store.close()
    print(f"API decide (random): {elapsed:.3f} s")


@pytest.mark.model
def test_decide_persona_on_the_embedded_model(clients):
    started = time.perf_counter()
    result = clients["alice"].predict(
        {**SCENARIO, "targets": {"fairness": 0.8}, "algorithm": "persona", "backbone": "embedded", "seed": 1},
        api_name="/decide",
    )
    elapsed = time.perf_counter() - started
    assert result["algorithm"] == "persona" and result["backbone"] == "embedded"
    assert result["choice"] in SCENARIO["choices"] and result["justification"].strip()
    assert result["target"] == {"fairness": 0.8} and result["usage"]["completion_tokens"] > 0
    print(f"API decide (persona, embedded): {elapsed:.2f} s")


def test_bad_requests_are_explained(clients):
    with pytest.raises(AppError, match="choices"):
        clients["alice"].predict({"scenario": "only a scenario"}, api_name="/decide")
    with pytest.raises(AppError, match="unknown attribute 'fairnes'"):
        clients["alice"].predict({**SCENARIO, "targets": {"fairnes": 0.5}}, api_name="/decide")
    with pytest.raises(AppError, match="unknown backbone"):
        clients["alice"].predict(
            {**SCENARIO, "algorithm": "unaligned", "backbone": "gpt-9"}, api_name="/decide"
        )


def test_profile_crud_and_decide_with_a_profile(clients):
    alice = clients["alice"]
    created = alice.predict(
        {"name": "api-fair", "description": "from the API", "targets": {"fairness": 0.9}},
        api_name="/create_profile",
    )
    assert created["owner"] == "alice" and created["version"] == 1
    assert "api-fair" in [p["name"] for p in alice.predict({}, api_name="/list_profiles")["profiles"]]
    got = alice.predict({"name": "api-fair"}, api_name="/get_profile")
    assert got["targets"] == {"fairness": 0.9}
    updated = alice.predict(
        {"name": "api-fair", "set_targets": {"risk_aversion": 0.2}, "expected_version": 1},
        api_name="/update_profile",
    )
    assert updated["version"] == 2 and updated["targets"] == {"fairness": 0.9, "risk_aversion": 0.2}
    with pytest.raises(AppError, match="changed by someone else"):
        alice.predict(
            {"name": "api-fair", "set_targets": {"fairness": 0.1}, "expected_version": 1},
            api_name="/update_profile",
        )
    decided = alice.predict({**SCENARIO, "profile": "api-fair", "algorithm": "random"}, api_name="/decide")
    assert decided["target"] == {"fairness": 0.9, "risk_aversion": 0.2}
    assert alice.predict({"name": "api-fair", "expected_version": 2}, api_name="/delete_profile") == {
        "deleted": "api-fair"
    }
    with pytest.raises(AppError, match="no profile 'api-fair'"):
        alice.predict({"name": "api-fair"}, api_name="/get_profile")


def test_other_users_profiles_and_admin_actions_are_refused(clients):
    alice, bob, root = clients["alice"], clients["bob"], clients["root"]
    alice.predict({"name": "private", "targets": {"fairness": 0.3}}, api_name="/create_profile")
    with pytest.raises(AppError, match="no profile 'private'"):
        bob.predict({"name": "private"}, api_name="/get_profile")
    with pytest.raises(AppError, match="may not act on 'alice'"):
        bob.predict({"name": "private", "owner": "alice"}, api_name="/get_profile")
    with pytest.raises(AppError, match="may not act on 'alice'"):
        bob.predict({"name": "private", "owner": "alice"}, api_name="/delete_profile")
    with pytest.raises(AppError, match="no profile 'private'"):
        bob.predict({**SCENARIO, "profile": "private", "algorithm": "random"}, api_name="/decide")
    with pytest.raises(AppError, match="only an admin"):
        bob.predict(
            {"name": "mallory", "password": "mallory-password", "role": "admin"}, api_name="/add_user"
        )
    with pytest.raises(AppError, match="only an admin"):
        bob.predict({"attribute": {"name": "greed"}}, api_name="/upsert_attribute")
    with pytest.raises(AppError, match="only an admin"):
        bob.predict({"query": "kit"}, api_name="/search_examples")
    assert [u["name"] for u in bob.predict({}, api_name="/list_users")["users"]] == ["bob"]
    # the admin sees and may change alice's profile
    everyone = root.predict({"all_users": True}, api_name="/list_profiles")["profiles"]
    assert ("alice", "private") in {(p["owner"], p["name"]) for p in everyone}
    assert root.predict({"name": "private", "owner": "alice"}, api_name="/get_profile")["targets"] == {
        "fairness": 0.3
    }
    assert {a["name"] for a in bob.predict({}, api_name="/list_attributes")["attributes"]} >= {
        "fairness",
        "SEX",
    }


def test_compare_two_columns(clients):
    alice = clients["alice"]
    alice.predict({"name": "cmp", "targets": {"fairness": 0.7}}, api_name="/create_profile")
    result = alice.predict(
        {
            **SCENARIO,
            "seed": 3,
            "columns": [
                {"algorithm": "random", "profile": "cmp"},
                {"algorithm": "random", "targets": {"fairness": 0.1}},
                {"algorithm": "random", "backbone": "nope"},
            ],
        },
        api_name="/compare",
    )
    first, second, third = result["results"]
    assert first["decision"]["target"] == {"fairness": 0.7} and "cmp" in first["label"]
    assert second["decision"]["target"] == {"fairness": 0.1}
    assert first["decision"]["choice"] == second["decision"]["choice"]  # same seed, same random pick
    assert "unknown backbone 'nope'" in third["error"] and not third["disagrees"]
    with pytest.raises(AppError, match="no profile 'cmp'"):
        clients["bob"].predict(
            {**SCENARIO, "columns": [{"profile": "cmp"}, {"algorithm": "random"}]}, api_name="/compare"
        )


def test_chat_and_its_conversations(clients):
    alice = clients["alice"]
    message = SCENARIO["scenario"] + "\n" + "\n".join(f"- {c}" for c in SCENARIO["choices"])
    first = alice.predict({"message": message, "algorithm": "random", "seed": 1}, api_name="/chat")
    assert first["kind"] == "decision" and first["text"].startswith("**My advice:")
    why = alice.predict({"message": "why?", "conversation_id": first["conversation_id"]}, api_name="/chat")
    assert why["kind"] == "why" and why["decision_id"] == first["decision_id"]
    convo = alice.predict({"id": first["conversation_id"]}, api_name="/get_conversation")
    assert [m["role"] for m in convo["messages"]] == ["user", "assistant", "user", "assistant"]
    with pytest.raises(AppError, match="no conversation"):
        clients["bob"].predict({"id": first["conversation_id"]}, api_name="/get_conversation")


SAVINGS = (
    "I have savings of 20,000. Should I put them in a broad index fund or start a food truck business "
    "with a friend?\n- Index fund\n- Food truck business"
)
FLAG = re.compile(r"(?<![\w-])--[a-z]")  # a command-line flag such as --target or --would-choose


def test_first_chat_without_values_suggests_them(clients):
    alice = clients["alice"]
    first = alice.predict({"message": SAVINGS}, api_name="/chat")
    assert first["kind"] == "suggest" and first["decision_id"] is None
    assert (
        "could not" not in first["text"] and not FLAG.search(first["text"]) and "own words" in first["text"]
    )
    suggestions = first["suggestions"]
    assert len(suggestions) == 3 and len({s["name"] for s in suggestions}) == 3
    known = {a["name"] for a in alice.predict({}, api_name="/list_attributes")["attributes"]}
    for s in suggestions:
        assert s["name"] in known and s["pack"] and s["label"] in first["text"] and 0 < s["value"] <= 1
    sims = [s["similarity"] for s in suggestions]
    assert sims == sorted(sims, reverse=True) and sims[0] > 0  # MiniLM similarities, best first
    # picking values and asking again decides the same situation (random: no model needed here)
    name = suggestions[0]["name"]
    second = alice.predict(
        {
            "message": "decide now",
            "conversation_id": first["conversation_id"],
            "targets": {name: suggestions[0]["value"]},
            "algorithm": "random",
            "seed": 3,
        },
        api_name="/chat",
    )
    assert second["kind"] == "decision" and second["decision"]["choice"] in (
        "Index fund",
        "Food truck business",
    )
    convo = alice.predict({"id": first["conversation_id"]}, api_name="/get_conversation")
    assert [m["role"] for m in convo["messages"]] == ["user", "assistant", "user", "assistant"]
    assert [m["content"] for m in convo["messages"]].count(first["text"]) == 1


def test_no_reply_names_a_command_line_flag(clients):
    alice = clients["alice"]
    said: list[str] = []

    def refused(payload: dict, api_name: str) -> None:
        with pytest.raises(AppError) as caught:
            alice.predict(payload, api_name=api_name)
        said.append(str(caught.value))

    refused({**SCENARIO, "algorithm": "persona"}, "/decide")  # no target
    refused({**SCENARIO, "algorithm": "random", "decider": "persona-vote-5x2"}, "/decide")
    refused({"name": "flags-sex", "targets": {"SEX": 0.5}}, "/create_profile")  # a category
    alice.predict({"name": "flags-dup", "targets": {"fairness": 0.5}}, api_name="/create_profile")
    bundle = alice.predict({"names": ["flags-dup"]}, api_name="/export_profiles")
    refused({"bundle": bundle}, "/import_profiles")  # already exists
    decided = alice.predict({**SCENARIO, "algorithm": "random", "seed": 2}, api_name="/decide")
    other = 1 - decided["choice_index"]
    refused({"decision_id": decided["log_id"], "agree": True, "would_choose": other}, "/feedback")
    refused(
        {"decision_id": decided["log_id"], "agree": False, "would_choose": decided["choice_index"]},
        "/feedback",
    )
    compared = alice.predict(
        {**SCENARIO, "columns": [{"algorithm": "random"}, {"algorithm": "persona"}]}, api_name="/compare"
    )
    said.extend(r["error"] for r in compared["results"] if r["error"])
    failed = alice.predict({"message": SAVINGS, "algorithm": "no-such"}, api_name="/chat")
    said.append(failed["text"])
    assert len(said) == 8
    for text in said:
        assert text.strip() and not FLAG.search(text), text
