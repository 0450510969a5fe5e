"""SchemaDecoder and token sampling against a scripted token model (pure logic, no llama.cpp).

The fake model has a small vocabulary of characters and multi-character pieces (some contain
quotes, newlines, backslashes), and its logits come from a seeded generator or a script, so
the decoder meets adversarial output: every result must still be valid JSON of the schema.
"""

from __future__ import annotations

import json
import string
from collections.abc import Callable, Sequence

import jsonschema
import numpy as np
import pytest

from alignment.prompts import decision_schema
from assistant.backbones.llamacpp.sampling import choose_among, choose_token, log_softmax, top_candidates
from assistant.backbones.llamacpp.schema_decoding import SchemaDecoder, TokenTrie
from assistant.backbones.llamacpp.schema_plan import compile_schema
from tests.helpers.schemas import nested_schema

END = "<end>"
PIECES = list(
    dict.fromkeys(
        [
            END,
            *string.printable,
            "é",
            "ü",
            '", "',
            '"}',
            ' "',
            "\n\n",
            "the ",
            "patient ",
            "because ",
            'say "hi',
            "\\",
            "10",
            "tr",
            "ue",
        ]
    )
)


class FakeTokenModel:
    """Vocabulary = PIECES; tokenize is greedy longest match; logits from ``score(context)``."""

    def __init__(self, score: Callable[[list[int]], np.ndarray]) -> None:
        self.vocab = PIECES
        self.ids = {p: i for i, p in enumerate(self.vocab)}
        self.score = score
        self.context: list[int] = []
        self.feeds: list[list[int]] = []
        self.logit_calls = 0

    def tokenize(self, text: str) -> list[int]:
        out, i = [], 0
        pieces = sorted((p for p in self.vocab if p != END), key=len, reverse=True)
        while i < len(text):
            piece = next(p for p in pieces if text.startswith(p, i))
            out.append(self.ids[piece])
            i += len(piece)
        return out

    def token_bytes(self, token: int) -> bytes:
        piece = self.vocab[token]
        return b"" if piece == END else piece.encode()

    def is_end(self, token: int) -> bool:
        return self.vocab[token] == END

    def end_tokens(self) -> list[int]:
        return [self.ids[END]]

    def feed(self, tokens: Sequence[int]) -> None:
        self.feeds.append(list(tokens))
        self.context.extend(tokens)

    def logits(self) -> np.ndarray:
        self.logit_calls += 1
        return self.score(self.context).astype(np.float32)


def random_model(seed: int) -> FakeTokenModel:
    rng = np.random.default_rng(seed)
    return FakeTokenModel(lambda ctx: rng.normal(0.0, 3.0, len(PIECES)))


def decode(
    model: FakeTokenModel, schema: dict, *, temperature: float = 0.8, seed: int = 0, max_tokens: int = 80
):
    decoder = SchemaDecoder(
        model,
        compile_schema(schema),
        rng=np.random.default_rng(seed),
        temperature=temperature,
        max_tokens=max_tokens,
    )
    return decoder.run()


NESTED = nested_schema()
MIXED = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "minLength": 3, "maxLength": 8},
        "flag": {"type": "boolean"},
        "share": {"type": "number", "minimum": 0, "maximum": 1},
        "tags": {"type": "array", "items": {"enum": ["x", "y", 'q"uote']}, "minItems": 3, "maxItems": 3},
        "nothing": {"type": "null"},
    },
}


@pytest.mark.parametrize("schema", [decision_schema(4), NESTED, MIXED], ids=["decision", "nested", "mixed"])
@pytest.mark.parametrize("temperature", [0.0, 0.8, 2.0])
def test_output_is_always_valid_json_of_the_schema(schema: dict, temperature: float) -> None:
    for seed in range(25):
        result = decode(random_model(seed), schema, temperature=temperature, seed=seed)
        jsonschema.validate(json.loads(result.text), schema)
        assert result.tokens >= result.generated


def test_min_length_holds_even_when_the_model_wants_to_close_the_string() -> None:
    quote_first = FakeTokenModel(
        lambda ctx: np.array([5.0 if p in ('"', '"}', '", "', END) else 0.0 for p in PIECES])
    )
    schema = {"type": "object", "properties": {"r": {"type": "string", "minLength": 5, "maxLength": 9}}}
    result = decode(quote_first, schema, temperature=0.0)
    value = json.loads(result.text)["r"]
    assert 5 <= len(value) <= 9 and '"' not in value and "\n" not in value


def test_leading_blanks_do_not_satisfy_min_length() -> None:
    # each step: {piece: logit}; the quote is the model's favourite at step 3 but is banned there
    steps = iter([{" ": 9.0}, {" ": 9.0}, {'"': 9.0, "o": 5.0}, {"k": 9.0}, {'"': 9.0}])

    def score(ctx: list[int]) -> np.ndarray:
        row = np.zeros(len(PIECES))
        for piece, value in next(steps, {'"': 9.0}).items():
            row[PIECES.index(piece)] = value
        return row

    result = decode(
        FakeTokenModel(score), {"type": "string", "minLength": 2, "maxLength": 10}, temperature=0.0
    )
    assert json.loads(result.text) == "  ok"


def test_string_stops_at_quote_and_keeps_text_before_it() -> None:
    script = iter(["the ", "patient ", 'say "hi'])

    def score(ctx: list[int]) -> np.ndarray:
        row = np.zeros(len(PIECES))
        row[PIECES.index(next(script, END))] = 10.0
        return row

    result = decode(FakeTokenModel(score), {"type": "string", "maxLength": 100}, temperature=0.0)
    assert json.loads(result.text) == "the patient say "


def test_escaping_and_truncation_at_max_length() -> None:
    pieces = iter(["\\", "\t", "é", "ü", "a", "b", "c", "d"])

    def score(ctx: list[int]) -> np.ndarray:
        row = np.zeros(len(PIECES))
        row[PIECES.index(next(pieces, "z"))] = 10.0
        return row

    result = decode(FakeTokenModel(score), {"type": "string", "maxLength": 6}, temperature=0.0)
    assert json.loads(result.text) == "\\\téüab"


def test_enum_pick_follows_the_logits_greedily() -> None:
    def prefer_b(ctx: list[int]) -> np.ndarray:
        row = np.zeros(len(PIECES))
        row[PIECES.index("B")] = 4.0
        row[PIECES.index("A")] = 3.0
        row[PIECES.index("\n")] = 9.0  # ends the reasoning at once
        return row

    schema = decision_schema(3)
    result = decode(FakeTokenModel(prefer_b), schema, temperature=0.0)
    answer = json.loads(result.text)
    assert answer["choice"] == "B" and len(answer["reasoning"]) >= 1


def test_integer_trie_separates_1_from_10() -> None:
    # "10" is one token here, "1" another: the trie offers both and the follow char ends "1".
    def prefer(digit: str) -> Callable[[list[int]], np.ndarray]:
        def score(ctx: list[int]) -> np.ndarray:
            row = np.zeros(len(PIECES))
            row[PIECES.index(digit)] = 5.0
            return row

        return score

    schema = {"type": "object", "properties": {"n": {"type": "integer", "minimum": 0, "maximum": 12}}}
    assert json.loads(decode(FakeTokenModel(prefer("10")), schema, temperature=0.0).text) == {"n": 10}
    assert json.loads(decode(FakeTokenModel(prefer("7")), schema, temperature=0.0).text) == {"n": 7}


def test_trailing_fixed_text_is_not_evaluated_and_fixed_text_is_batched() -> None:
    model = random_model(3)
    result = decode(model, decision_schema(2), temperature=0.0)
    fed = [t for batch in model.feeds for t in batch]
    assert result.text.endswith('"}')
    # the closing '"}' is output but never fed: nothing after it needs the model
    assert "".join(model.vocab[t] for t in fed).endswith(('"', '", "choice": '))
    # one logits read per generated token, plus the choice pick
    assert model.logit_calls <= result.generated + 3


def test_same_seed_same_output_and_budget_respected() -> None:
    a = decode(random_model(1), NESTED, temperature=1.0, seed=9, max_tokens=100)
    b = decode(random_model(1), NESTED, temperature=1.0, seed=9, max_tokens=100)
    c = decode(random_model(1), NESTED, temperature=1.0, seed=10, max_tokens=100)
    assert a.text == b.text != c.text
    # the fixed syntax alone is 69 character tokens here; the reserve keeps it inside the budget
    # (a piece cut at a closing quote may add a few tokens of text)
    assert a.generated > 0 and a.tokens <= 100 + 8


def test_token_trie() -> None:
    trie = TokenTrie.build([[1, 2], [1, 3], [4]])
    assert set(trie.children) == {1, 4}
    assert trie.children[1].children[3].value == 1
    assert trie.depth() == 2


def test_sampling_helpers() -> None:
    logits = np.array([0.0, 5.0, 3.0, 5.0, -1.0], dtype=np.float32)
    assert list(top_candidates(logits, 3)) == [1, 3, 2]
    assert choose_token(logits, np.random.default_rng(0), 0.0) == 1
    assert choose_token(logits, np.random.default_rng(0), 0.0, banned=lambda t: t in (1, 3)) == 2
    draws = [choose_token(logits, np.random.default_rng(s), 1.0) for s in range(200)]
    assert set(draws) <= {0, 1, 2, 3, 4} and draws.count(1) + draws.count(3) > 120
    assert draws == [choose_token(logits, np.random.default_rng(s), 1.0) for s in range(200)]
    assert choose_among(np.array([1.0, 2.0]), np.random.default_rng(0), 0.0) == 1
    lp = log_softmax(logits)
    assert np.isclose(np.exp(lp).sum(), 1.0)
    assert np.isclose(lp[1] - lp[2], 2.0)
