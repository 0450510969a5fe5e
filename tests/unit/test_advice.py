"""Answers as advice (alignment.advice): verdict first, plain sentences, the rest folded away."""

from __future__ import annotations

import re

import pytest

from alignment.advice import MAX_WORDS, ValueText, advice, why_not_text, why_text
from alignment.models import ChoiceScore, Decision, Example

VALUES = ValueText(
    titles={"security": "Security", "stimulation": "Stimulation"},
    meanings={
        "security": "Safety, harmony and stability of society, of one's relationships and of oneself.",
        "stimulation": "Excitement, novelty and challenge in life.",
    },
)
EXAMPLE = Example(
    id="ex-96098546abcdef",
    text="You inherit 10,000. Put it in a savings account or spend it on a trip around the world?",
    choices=["Savings account", "Trip around the world"],
    scores=[{"security": 1.0}, {"security": 0.0}],
)


def _decision(**kw: object) -> Decision:
    data: dict[str, object] = {
        "choice_index": 0,
        "choice": "Index fund",
        "justification": "Your values: security 0.90 (very high). (A) fits your values best (fit 0.78).",
        "scores": [
            ChoiceScore(
                index=0, choice="Index fund", score=0.78, attributes={"security": 0.81, "stimulation": 0.3}
            ),
            ChoiceScore(
                index=1,
                choice="Food truck business",
                score=0.52,
                attributes={"security": 0.2, "stimulation": 0.85},
            ),
        ],
        "algorithm": "value-fit",
        "backbone": "none",
        "target": {"security": 0.9, "stimulation": 0.7},
        "examples": [EXAMPLE],
    }
    data.update(kw)
    return Decision.model_validate(data)


def _words(text: str) -> int:
    return len(text.split())


def test_the_verdict_comes_first_then_plain_sentences() -> None:
    verdict, main, details = advice(_decision(), VALUES)
    assert verdict == "**My advice: Index fund.**"
    said = verdict + " " + main
    assert _words(said) <= MAX_WORDS
    assert not re.search(r"\d\.\d", said)  # no decimals
    assert "ex-" not in said and "value-fit" not in said and "fit 0" not in said and "&nbsp;" not in said
    assert "“Index fund”" in main and "“Food truck business”" in main  # the options, in the person's words
    assert "**Security**" in main and "matters a great deal" in main  # the value that decided it
    assert "The trade-off: “Food truck business” is better for **Stimulation**" in main
    assert details.startswith("<details>\n<summary>Details</summary>\n") and details.endswith("</details>")
    assert "Security 81" in details and "Security 20" in details  # the estimates, as whole numbers
    assert "savings account" in details.lower() and "value fit method" in details
    assert not re.search(r"\d\.\d", details) and "ex-96098546" not in details


def test_the_answer_is_valid_commonmark_with_the_details_block_kept_whole() -> None:
    markdown_it = pytest.importorskip("markdown_it")
    text = "\n\n".join(advice(_decision(), VALUES))
    tokens = markdown_it.MarkdownIt("commonmark").parse(text)
    html = [t.content.strip() for t in tokens if t.type == "html_block"]
    assert html == ["<details>\n<summary>Details</summary>", "</details>"]
    types = [t.type for t in tokens]
    # the verdict and the sentences are paragraphs of their own, the estimates a list inside the block
    assert types[:6] == [
        "paragraph_open",
        "inline",
        "paragraph_close",
        "paragraph_open",
        "inline",
        "paragraph_close",
    ]
    assert "bullet_list_open" in types[types.index("html_block") :]
    rendered = markdown_it.MarkdownIt("commonmark").render(text)
    assert "<strong>My advice: Index fund.</strong>" in rendered and "&amp;nbsp;" not in rendered


def test_why_adds_what_the_first_answer_did_not_say() -> None:
    decision = _decision()
    _, main, _ = advice(decision, VALUES)
    why = why_text(decision, VALUES)
    assert "safety, harmony and stability" in why  # what the deciding value means
    assert "Stimulation" in why and "Food truck business" in why  # the strongest point for the other
    assert "savings account" in why.lower()  # the most similar stored decision, and what was chosen
    assert why not in main and _words(why) <= MAX_WORDS and not re.search(r"\d\.\d", why)


def test_why_asked_again_says_something_new() -> None:
    decision = _decision()
    first, again = why_text(decision, VALUES), why_text(decision, VALUES, asked=2)
    assert again != first and "On **Security**, which you set very high" in again
    assert "“Food truck business” low" in again and not re.search(r"\d\.\d", again)


def test_why_not_is_about_the_option_asked() -> None:
    decision = _decision()
    text = why_not_text(decision, 1, VALUES)
    assert text.startswith("I did not pick “Food truck business” because of **Security**")
    assert "does have **Stimulation** going for it" in text
    assert why_not_text(decision, 0, VALUES).startswith("“Index fund” is the option I recommended")
    assert why_not_text(decision, 5, VALUES) == "There is no option (F) in my last answer."


def test_the_persons_words_for_a_value_are_shown_with_its_name() -> None:
    said = ValueText(titles=VALUES.titles, meanings=VALUES.meanings, said={"security": "money"})
    _, main, _ = advice(_decision(), said)
    assert '**Security** ("money")' in main


def test_a_decision_without_estimates_gives_its_own_reason() -> None:
    decision = _decision(
        scores=[
            ChoiceScore(index=0, choice="Index fund"),
            ChoiceScore(index=1, choice="Food truck business"),
        ],
        justification="it keeps the savings safe.",
        algorithm="persona",
        backbone="embedded",
        examples=[],
    )
    verdict, main, details = advice(decision, VALUES)
    assert verdict == "**My advice: Index fund.**" and "It keeps the savings safe." in main
    assert "persona method with the model embedded" in details and "persona" not in main


def test_a_close_call_says_so() -> None:
    scores = [
        ChoiceScore(index=0, choice="A thing", score=0.61, attributes={"security": 0.6}),
        ChoiceScore(index=1, choice="B thing", score=0.60, attributes={"security": 0.59}),
    ]
    _, main, details = advice(_decision(scores=scores, choice="A thing", target={"security": 0.9}), VALUES)
    assert "close call" in main and "close call" in details
