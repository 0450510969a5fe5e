"""value-fit on a word-count embedder: the estimating and choosing logic, worked by hand.

The real MiniLM runs in tests/integration/test_value_fit_model.py.
"""

import pytest

from alignment.algorithms import DecisionContext, create_algorithm
from alignment.algorithms.value_fit import group_category
from alignment.errors import ConfigError
from alignment.fake import FakeBackbone, FakeEmbedder
from alignment.models import AlignmentTarget, Attribute, Example, Scenario

VOCAB = ["safe", "savings", "steady", "risky", "venture", "new", "fund", "truck", "yes", "no", "question"]


def WordEmbedder() -> FakeEmbedder:
    return FakeEmbedder(VOCAB)


SECURITY = Attribute(
    name="security", description="stability", high="safe steady savings", low="risky new venture"
)
SCENARIO = Scenario(
    text="Where do my savings go?", choices=["a steady safe fund", "a risky new truck venture"]
)


def decide(target: dict[str, float], examples: list[Example] | None = None, **params: object):
    context = DecisionContext(
        scenario=SCENARIO,
        target=AlignmentTarget(values=target, attributes={"security": SECURITY}),
        examples=examples or [],
        embedder=WordEmbedder(),
    )
    return create_algorithm("value-fit", **params).run(context, FakeBackbone([]))


def test_definition_alone_orders_the_options_and_follows_the_target():
    high, low = decide({"security": 0.9}), decide({"security": 0.1})
    assert (high.choice_index, low.choice_index) == (0, 1)
    est = [s.attributes["security"] for s in high.scores]
    assert est[0] > 0.5 > est[1]
    assert all(0.0 < e < 1.0 for e in est), "graded estimates, never a 0 / 1 certainty"
    assert high.extra["evidence"]["security"]["source"] == "definition"
    assert "no stored example decision is close enough to count" in high.justification
    assert "security 0.90 (very high)" in high.justification
    assert high.backbone == "none"


def test_examples_outweigh_a_misleading_definition():
    # the stored decisions say the 'fund' option is the insecure one: evidence wins over the definition
    example = Example(
        id="e1",
        text="Where do my savings go?",
        choices=["a steady safe fund", "a risky new truck venture"],
        scores=[{"security": 0.0}, {"security": 1.0}],
        similarity=0.9,
    )
    d = decide({"security": 1.0}, [example])
    assert d.choice_index == 1
    assert d.scores[1].attributes["security"] > 0.9
    assert d.extra["evidence"]["security"]["source"] == "examples"
    assert 'Most similar stored example: "Where do my savings go?"' in d.justification
    assert 'would choose "a risky new truck venture"' in d.justification
    assert [e.id for e in d.examples] == ["e1"]


def test_unrelated_attribute_examples_do_not_count():
    example = Example(
        id="e2",
        text="Where do my savings go?",
        choices=["a steady safe fund", "a risky new truck venture"],
        scores=[{"question": 0.0}, {"question": 1.0}],
        similarity=0.9,
    )
    with_example = decide({"security": 1.0}, [example], attribute_temperature=0.01)
    alone = decide({"security": 1.0})
    assert with_example.choice_index == alone.choice_index == 0


def test_groups_population_moved_against_the_sibling_group():
    # Democrats answered yes 1.0 / no 0.0, women yes 0.2 / no 1.0: population (0.6, 0.5).
    # Republican = population + sibling_weight * (Democrat - population) = (0.6 - 0.4, 0.5 + 0.5)
    scenario = Scenario(text="A question?", choices=["yes", "no"])
    examples = [
        Example(
            id="d",
            text="A question?",
            choices=["yes", "no"],
            scores=[{"POLPARTY_Democrat": 1.0}, {"POLPARTY_Democrat": 0.0}],
            similarity=1.0,
        ),
        Example(
            id="f",
            text="A question?",
            choices=["Yes", "No"],
            scores=[{"SEX_Female": 0.2}, {"SEX_Female": 1.0}],
            similarity=1.0,
        ),
    ]
    context = DecisionContext(
        scenario=scenario,
        target=AlignmentTarget(values={"POLPARTY_Republican": 1.0}),
        examples=examples,
        embedder=WordEmbedder(),
    )
    d = create_algorithm("value-fit", related_group_weight=0.0, sibling_weight=-1.0).run(
        context, FakeBackbone([])
    )
    assert d.choice_index == 1
    assert d.scores[0].attributes["POLPARTY_Republican"] == pytest.approx(0.2)
    assert d.scores[1].attributes["POLPARTY_Republican"] == pytest.approx(1.0)
    assert d.extra["evidence"]["POLPARTY_Republican"]["source"] == "groups"
    # without the sibling rule it is the population's answer
    plain = create_algorithm("value-fit", related_group_weight=0.0, sibling_weight=0.0).run(
        context, FakeBackbone([])
    )
    assert plain.choice_index == 0


def test_group_category_names():
    assert group_category("POLPARTY_Democrat") == "POLPARTY"
    assert group_category("INCOME_$100,000 or more") == "INCOME"
    assert group_category("moral_deservingness") is None
    assert group_category("Moral judgement") is None


def test_without_embedder_it_says_so():
    context = DecisionContext(scenario=SCENARIO, target=AlignmentTarget(values={"security": 0.5}))
    with pytest.raises(ConfigError, match="sentence-embedding model"):
        create_algorithm("value-fit").run(context, FakeBackbone([]))


def test_each_text_is_embedded_once_per_decision():
    embedder = WordEmbedder()
    context = DecisionContext(
        scenario=SCENARIO,
        target=AlignmentTarget(values={"security": 0.5}, attributes={"security": SECURITY}),
        embedder=embedder,
    )
    create_algorithm("value-fit").run(context, FakeBackbone([]))
    assert len(embedder.calls) == 1
    assert len(embedder.calls[0]) == len(set(embedder.calls[0]))
