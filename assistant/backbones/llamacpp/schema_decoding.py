"""Schema-guided decoding: emit JSON of a schema, letting the model write only what is free.

llama.cpp's grammar sampler checks every one of Gemma's 262k tokens at every step (about 19
tokens/s here against about 90 unconstrained). This decoder walks a compiled plan instead
(``schema_plan``):

- fixed syntax (braces, keys, quotes, commas) is appended as tokens, evaluated in one batch
  together with whatever comes next, so it costs prompt-evaluation speed;
- a free string is generated unconstrained, token by token, until the model writes a ``"``
  (the text before it is kept), a newline or an end-of-turn token, or ``maxLength`` is reached;
  the text is then escaped into a valid JSON string;
- an enum value, a bounded integer or number, or a boolean is picked from the next-token
  logits restricted to the candidates, walking a token trie of the candidate texts.

The output is valid JSON of the schema by construction (string lengths included). The model
is reached through the small ``TokenModel`` protocol, so this logic is tested without llama.cpp.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from assistant.backbones.llamacpp.sampling import Logits, choose_among, choose_token
from assistant.backbones.llamacpp.schema_plan import Fixed, FreeString, Pick, Segment

__all__ = ["Decoded", "SchemaDecoder", "TokenModel", "TokenTrie"]

TERMINATORS = (b'"', b"\n", b"\r")
_END = -1


class TokenModel(Protocol):
    """What the decoder needs from a language model. ``feed`` may be lazy (evaluated on ``logits``)."""

    def tokenize(self, text: str) -> list[int]:
        """Token ids of plain text (no BOS, special-token text not parsed)."""
        ...

    def token_bytes(self, token: int) -> bytes: ...

    def is_end(self, token: int) -> bool:
        """End of generation (end of turn, EOS) or a control token."""
        ...

    def end_tokens(self) -> list[int]: ...

    def feed(self, tokens: Sequence[int]) -> None:
        """Append tokens to the context."""
        ...

    def logits(self) -> Logits:
        """Next-token logits after everything fed so far."""
        ...


@dataclass
class TokenTrie:
    """Candidate texts as token sequences; ``value`` is set where a candidate ends."""

    children: dict[int, TokenTrie] = field(default_factory=dict)
    value: int | None = None

    @classmethod
    def build(cls, sequences: Sequence[Sequence[int]]) -> TokenTrie:
        root = cls()
        for index, tokens in enumerate(sequences):
            node = root
            for tok in tokens:
                node = node.children.setdefault(tok, cls())
            if node.value is None:
                node.value = index
        return root

    def depth(self) -> int:
        return 1 + max((c.depth() for c in self.children.values()), default=-1)


@dataclass
class Decoded:
    text: str
    tokens: int  # tokens of the output (fixed, picked and generated)
    generated: int  # tokens the model generated freely


class SchemaDecoder:
    """Runs one plan against a model. Call ``run`` once; the model's context must hold the prompt."""

    def __init__(
        self,
        model: TokenModel,
        plan: list[Segment],
        *,
        rng: np.random.Generator,
        temperature: float,
        max_tokens: int,
        tries: dict[tuple[tuple[str, ...], str], TokenTrie] | None = None,
    ) -> None:
        self.model = model
        self.plan = plan
        self.rng = rng
        self.temperature = temperature
        self.max_tokens = max_tokens
        self._tries = tries if tries is not None else {}
        self._pending: list[int] = []
        self._used = 0
        self._generated = 0
        self._reserve = self._reserves()

    # -- budget ------------------------------------------------------------------------------

    def trie(self, pick: Pick) -> TokenTrie:
        key = (pick.literals, pick.follow)
        if key not in self._tries:
            self._tries[key] = TokenTrie.build(
                [self.model.tokenize(lit + pick.follow) for lit in pick.literals]
            )
        return self._tries[key]

    def _cost(self, seg: Segment) -> int:
        if isinstance(seg, Fixed):
            return len(self.model.tokenize(seg.text))
        if isinstance(seg, Pick):
            return self.trie(seg).depth()
        return seg.min_length

    def _reserves(self) -> list[int]:
        """reserve[i]: tokens the segments from i on need at least."""
        out = [0] * (len(self.plan) + 1)
        for i in range(len(self.plan) - 1, -1, -1):
            out[i] = out[i + 1] + self._cost(self.plan[i])
        return out

    def minimum_tokens(self) -> int:
        return self._reserve[0]

    # -- context -----------------------------------------------------------------------------

    def _queue(self, tokens: Sequence[int]) -> None:
        self._pending.extend(tokens)
        self._used += len(tokens)

    def _logits(self) -> Logits:
        if self._pending:
            self.model.feed(self._pending)
            self._pending = []
        return self.model.logits()

    # -- segments ----------------------------------------------------------------------------

    def run(self) -> Decoded:
        parts: list[str] = []
        for i, seg in enumerate(self.plan):
            if isinstance(seg, Fixed):
                parts.append(seg.text)
                self._queue(self.model.tokenize(seg.text))
            elif isinstance(seg, Pick):
                parts.append(self._pick(seg))
            else:
                parts.append(self._free(seg, self._reserve[i + 1]))
        return Decoded(text="".join(parts), tokens=self._used, generated=self._generated)

    def _pick(self, pick: Pick) -> str:
        node = self.trie(pick)
        while node.children:
            options = list(node.children)
            if node.value is not None:
                options.append(_END)
            if len(options) == 1:
                choice = options[0]
            else:
                logits = self._logits()
                ends = self.model.end_tokens()
                end_score = max(float(logits[t]) for t in ends) if ends else -1e30
                scores = np.array([end_score if t == _END else float(logits[t]) for t in options])
                choice = options[choose_among(scores, self.rng, self.temperature)]
            if choice == _END:
                break
            self._queue([choice])
            node = node.children[choice]
        assert node.value is not None, "a token trie path ends without a candidate"
        return pick.literals[node.value] + pick.follow

    def _terminates(self, token: int) -> bool:
        if self.model.is_end(token):
            return True
        piece = self.model.token_bytes(token)
        return not piece or any(t in piece for t in TERMINATORS)

    def _free(self, seg: FreeString, reserve_after: int) -> str:
        budget = max(0, self.max_tokens - self._used - reserve_after)
        hard_cap = budget + 4 * seg.min_length + 16
        buf = bytearray()
        steps = 0
        while steps < hard_cap:
            so_far = buf.decode("utf-8", "ignore")
            if seg.max_length is not None and len(so_far) >= seg.max_length:
                break
            # leading blanks do not count towards minLength: a reason of " " helps no one
            short = len(so_far.lstrip()) < seg.min_length
            if not short and steps >= budget:
                break
            logits = self._logits()
            token = choose_token(
                logits, self.rng, self.temperature, banned=self._terminates if short else None
            )
            steps += 1
            if self.model.is_end(token):
                break
            piece = self.model.token_bytes(token)
            cut = min((piece.find(t) for t in TERMINATORS if t in piece), default=-1)
            if cut >= 0:
                if cut > 0:
                    buf += piece[:cut]
                    self._queue(self.model.tokenize(piece[:cut].decode("utf-8", "ignore")))
                break
            buf += piece
            self._queue([token])
            self._generated += 1
        text = buf.decode("utf-8", "ignore")
        if seg.max_length is not None:
            text = text[: seg.max_length]
        if len(text.lstrip()) < seg.min_length:  # only when the token budget ran out first
            text = text.lstrip()
            text += "." * (seg.min_length - len(text))
        return json.dumps(text, ensure_ascii=False)[1:-1]
