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


def stored(
    id: str, scores: list[dict[str, float]], on: Scenario = SCENARIO, *, similarity: float = 0.9
) -> Example:
    """A stored example decision on ``on`` (its text and choices; this file's dilemma unless given),
    with the options' ``scores``, retrieved at ``similarity``."""
    return Example(id=id, text=on.text, choices=on.choices, scores=scores, similarity=similarity)


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
    assert "about 6 to 7 times in 10" in high.justification  # how far definitions alone can be trusted
    assert "security 0.90 (very high)" in high.justification
    assert high.backbone == "none"


def test_examples_outweigh_a_misleading_definition():
    # the stored decisions say the 'fund' option is the insecure one: evidence wins over the definition
    example = stored("e1", [{"security": 0.0}, {"security": 1.0}])
    d = decide({"security": 1.0}, [example])
    assert d.choice_index == 1
    assert d.scores[1].attributes["security"] > 0.9
    assert d.extra["evidence"]["security"]["source"] == "examples"
    assert 'Most similar stored example: "Where do my savings go?"' in d.justification
    assert 'would choose "a risky new truck venture"' in d.justification
    assert [e.id for e in d.examples] == ["e1"]


def test_unrelated_attribute_examples_do_not_count():
    example = stored("e2", [{"question": 0.0}, {"question": 1.0}])
    with_example = decide({"security": 1.0}, [example], attribute_temperature=0.01)
    alone = decide({"security": 1.0})
    assert with_example.choice_index == alone.choice_index == 0


def test_groups_population_moved_against_the_sibling_group():
    # Democrats answered yes 1.0 / no 0.0, women yes 0.2 / no 1.0: population (0.6, 0.5).
    # Republican = population + sibling_weight * (Democrat - population) = (0.6 - 0.4, 0.5 + 0.5)
    scenario = Scenario(text="A question?", choices=["yes", "no"])
    examples = [
        stored("d", [{"POLPARTY_Democrat": 1.0}, {"POLPARTY_Democrat": 0.0}], scenario, similarity=1.0),
        stored(
            "f",
            [{"SEX_Female": 0.2}, {"SEX_Female": 1.0}],
            Scenario(text="A question?", choices=["Yes", "No"]),
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


def test_options_the_store_never_scores_are_penalised():
    # "question" sits between the poles, so a middle target picks it; the stored decisions show that
    # options like it are never scored on any value (a procedural step), so the penalty passes it over
    scenario = Scenario(text="Where do my savings go?", choices=[*SCENARIO.choices, "question"])
    example = stored("e3", [{}, {"question": 1.0}], Scenario(text=SCENARIO.text, choices=["question", "yes"]))
    context = DecisionContext(
        scenario=scenario,
        target=AlignmentTarget(values={"security": 0.5}, attributes={"security": SECURITY}),
        examples=[example],
        embedder=WordEmbedder(),
    )
    plain = create_algorithm(
        "value-fit", attribute_temperature=0.01, unscored_penalty=0.0, relevance_penalty=0.0
    )
    assert plain.run(context, FakeBackbone([])).choice_index == 2
    penalised = create_algorithm(
        "value-fit", attribute_temperature=0.01, unscored_penalty=1.0, relevance_penalty=0.0
    )
    d = penalised.run(context, FakeBackbone([]))
    assert d.choice_index != 2
    share = d.extra["scored_share"]
    assert share[2] < 0.05 < min(share[:2])
    assert d.extra["penalty"][2] > max(d.extra["penalty"][:2])


def test_a_direction_learned_from_stored_option_pairs_carries_to_new_options():
    # the stored pair says "safe" options are high and "risky" ones low; the new options share only
    # those words with it, so the kernel sees little, while the learned direction orders them
    pair = Scenario(text=SCENARIO.text, choices=["safe fund", "risky venture"])
    example = stored("e4", [{"security": 1.0}, {"security": 0.0}], pair)
    scenario = Scenario(text="Which truck?", choices=["a risky truck", "a safe truck"])
    context = DecisionContext(
        scenario=scenario,
        target=AlignmentTarget(values={"security": 1.0}, attributes={"security": SECURITY}),
        examples=[example],
        embedder=WordEmbedder(),
    )
    d = create_algorithm("value-fit", direction_share=1.0, use_definition=False).run(
        context, FakeBackbone([])
    )
    direction = d.extra["evidence"]["security"]["direction"]
    assert direction[1] > 0.5 > direction[0]
    assert d.choice_index == 1
    assert "direction" not in decide({"security": 1.0}).extra["evidence"]["security"]


def test_the_same_named_person_counts_across_probes_with_entity_match():
    # "Patient A" was scored low on security in a stored probe of the same story; the option texts
    # are otherwise the same, so only the name tells the two options apart
    story = "Patient A took the savings. Patient B kept them safe."
    probe = Scenario(text=story, choices=["help Patient A", "help Patient B"])
    example = stored("e5", [{"security": 0.0}, {"security": 1.0}], probe)
    scenario = Scenario(text=story + " Later.", choices=["treat Patient B", "treat Patient A"])
    context = DecisionContext(
        scenario=scenario,
        target=AlignmentTarget(values={"security": 1.0}, attributes={"security": SECURITY}),
        examples=[example],
        embedder=WordEmbedder(),
    )
    d = create_algorithm("value-fit", entity_match=0.3).run(context, FakeBackbone([]))
    est = [s.attributes["security"] for s in d.scores]
    assert est[0] > 0.8 and est[1] < 0.2
    assert d.choice_index == 0


def test_with_no_examples_a_menu_option_unrelated_to_the_value_is_passed_over():
    scenario = Scenario(text="Where do my savings go?", choices=[*SCENARIO.choices, "question"])
    context = DecisionContext(
        scenario=scenario,
        target=AlignmentTarget(values={"security": 0.5}, attributes={"security": SECURITY}),
        embedder=WordEmbedder(),
    )
    plain = create_algorithm("value-fit", relevance_penalty=0.0).run(context, FakeBackbone([]))
    assert plain.choice_index == 2  # between the poles: the middle target's pick
    d = create_algorithm("value-fit").run(context, FakeBackbone([]))
    assert d.choice_index != 2
    assert d.extra["penalty"][2] > max(d.extra["penalty"][:2])
    # two options are both decisions about the value: no relevance penalty
    assert "penalty" not in decide({"security": 0.5}).extra


def test_an_undefined_camel_case_attribute_is_read_by_the_words_of_its_name():
    """A file may name a value align-system's way ("MoralDesert") with no definition stored: its
    name, read as words, is the definition (as one word it matches nothing and every option ties)."""

    def run(value: float):
        context = DecisionContext(
            scenario=SCENARIO,
            target=AlignmentTarget(values={"TakesRiskyVentures": value}),
            embedder=WordEmbedder(),
        )
        return create_algorithm("value-fit").run(context, FakeBackbone([]))

    high, low = run(0.9), run(0.1)
    assert (high.choice_index, low.choice_index) == (1, 0)
    assert "takes risky ventures 0.90" in high.justification


def test_a_close_call_is_called_one():
    from alignment.justify import explain_fit
    from alignment.models import AlignmentTarget

    target = AlignmentTarget(values={"security": 0.9})
    estimates = [{"security": 0.50}, {"security": 0.49}]
    close = explain_fit(target, ["Keep it", "Sell it"], estimates, 0, [0.600, 0.590])
    assert "It is a close call: (A) and (B) stand almost the same" in close
    clear = explain_fit(target, ["Keep it", "Sell it"], estimates, 0, [0.90, 0.40])
    assert "close call" not in clear
    alone = explain_fit(target, ["Keep it"], estimates[:1], 0, [0.6])
    assert "close call" not in alone


def _share(d) -> float:
    weights = d.extra["evidence"]["security"]["example_weight"]
    return sum(weights) / len(weights)


def _far_examples(n: int) -> list[Example]:
    # stored decisions on another topic: their options share no word with this decision's
    other = Scenario(text="A yes or no question", choices=["yes", "no"])
    return [
        stored(f"far{i}", [{"security": 1.0}, {"security": 0.0}], other, similarity=0.2) for i in range(n)
    ]


def _decide_in(domain: str, examples: list[Example], **params: object):
    attribute = SECURITY.model_copy(update={"domain": domain})
    context = DecisionContext(
        scenario=SCENARIO,
        target=AlignmentTarget(values={"security": 0.9}, attributes={"security": attribute}),
        examples=examples,
        embedder=WordEmbedder(),
    )
    return create_algorithm("value-fit", **params).run(context, FakeBackbone([]))


NEAREST = {"nearest_half_by_domain": {"everyday": 1e-4}}


def test_with_the_nearest_rule_the_nearest_example_sets_the_examples_share_not_their_number():
    one = _decide_in("everyday", _far_examples(1), **NEAREST)
    many = _decide_in("everyday", _far_examples(30), **NEAREST)
    assert _share(one) == pytest.approx(_share(many)), "thirty far examples say no more than one"
    nearest = one.extra["evidence"]["security"]["nearest"]
    assert one.extra["evidence"]["security"]["example_weight"] == pytest.approx(
        [n / (n + 1e-4) for n in nearest], abs=1e-4
    )
    near = stored("near", [{"security": 1.0}, {"security": 0.0}], similarity=0.95)
    assert _share(_decide_in("everyday", [near], **NEAREST)) > 0.99 > _share(many)


def test_the_mass_rule_stays_in_a_domain_the_nearest_rule_does_not_name_and_by_default():
    # an everyday rule leaves triage with the mass rule: more examples, more weight
    one = _decide_in("triage", _far_examples(1), **NEAREST)
    many = _decide_in("triage", _far_examples(30), **NEAREST)
    assert _share(many) > _share(one)
    assert _share(_decide_in("everyday", _far_examples(30))) > _share(
        _decide_in("everyday", _far_examples(1))
    )


NORM_VOCAB = ["truth", "lie", "wallet", "bus", "garden", "flower", "promise", "cheat", "money"]
WALLET = Scenario(text="A wallet on the bus", choices=["hand it in and tell the truth", "keep it and lie"])


def _norm_decide(attribute: Attribute, value: float, domain: str = "everyday", share: float = 1.0):
    attribute = attribute.model_copy(update={"domain": domain})
    context = DecisionContext(
        scenario=WALLET,
        target=AlignmentTarget(values={attribute.name: value}, attributes={attribute.name: attribute}),
        embedder=FakeEmbedder(NORM_VOCAB),
    )
    params = {"norm_share_by_domain": {"everyday": share}, "norm_presence": (0.0, 0.1)}
    return create_algorithm("value-fit", **params).run(context, FakeBackbone([]))


def test_the_norm_reader_turns_the_way_the_values_own_texts_push():
    candour = Attribute(name="candour", description="", high="says the truth", low="says a lie")
    cunning = Attribute(name="cunning", description="", high="says a lie", low="says the truth")
    kept = _norm_decide(candour, 1.0).extra["evidence"]["candour"]
    turned = _norm_decide(cunning, 1.0).extra["evidence"]["cunning"]
    assert kept["norms"][0] > 0.5 > kept["norms"][1], "the truthful option keeps the norm"
    assert turned["norms"] == pytest.approx([kept["norms"][1], kept["norms"][0]])
    assert kept["norm_weight"] > 0


def test_the_norm_reader_leaves_alone_a_value_without_norms_and_other_domains():
    gardening = Attribute(name="gardening", description="", high="garden", low="flower")
    assert "norms" not in _norm_decide(gardening, 1.0).extra["evidence"]["gardening"]
    candour = Attribute(name="candour", description="", high="says the truth", low="says a lie")
    assert "norms" not in _norm_decide(candour, 1.0, domain="triage").extra["evidence"]["candour"]
    assert "norms" not in _norm_decide(candour, 1.0, share=0.0).extra["evidence"]["candour"]
