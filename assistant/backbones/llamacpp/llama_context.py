"""A token-level view of one ``llama_cpp.Llama``: lazy feeding, prefix KV-cache reuse, last logits.

Every call appends to a wanted token sequence; ``logits()`` evaluates only the part that is
not already in the KV cache, then reads the last position's logits straight from the context
(``llama_get_logits``), so ``logits_all`` is never needed.

Reproducibility: llama.cpp's CPU kernels give slightly different numbers for the same token
depending on how the batch it was evaluated in was cut (measured here: splitting a 217-token
prompt 50 + 167 moves logits by up to 0.5). So evaluation is cut at absolute positions that are
multiples of ``BLOCK``, and a later request reuses the cache only up to whole blocks that were
evaluated as one batch. A prompt then gives bit-identical logits cold or warm, and the same seed
gives the same text whatever ran before.
"""

from __future__ import annotations

from collections.abc import Sequence

import llama_cpp
import numpy as np

from alignment.errors import InputError
from assistant.backbones.llamacpp.sampling import Logits

__all__ = ["BLOCK", "LlamaContext"]

BLOCK = 128


class LlamaContext:
    """Implements schema_decoding.TokenModel on a Llama object (one user at a time)."""

    def __init__(self, llm: llama_cpp.Llama, name: str) -> None:
        self.llm = llm
        self.name = name
        self.n_vocab: int = llm.n_vocab()
        self.n_ctx: int = llm.n_ctx()
        vocab = llm._model.vocab
        self._vocab = vocab
        self._end = [t for t in {llm.token_eos(), *self._eog_candidates()} if self.is_end(t)]
        self._bytes: dict[int, bytes] = {}
        self._want: list[int] = []
        self._synced = 0  # want[:synced] is in the KV cache
        self._canonical = 0  # cache[:canonical] was evaluated in whole BLOCKs, one batch each
        self._logits_for = -1  # length of the evaluated sequence the current logits belong to

    def _eog_candidates(self) -> list[int]:
        found = []
        for text in ("<end_of_turn>", "<|im_end|>", "<|eot_id|>"):
            ids = self.llm.tokenize(text.encode(), add_bos=False, special=True)
            if len(ids) == 1:
                found.append(ids[0])
        return found

    # -- TokenModel ----------------------------------------------------------------------------

    def tokenize(self, text: str) -> list[int]:
        if not text:
            return []
        return list(self.llm.tokenize(text.encode("utf-8"), add_bos=False, special=False))

    def token_bytes(self, token: int) -> bytes:
        piece = self._bytes.get(token)
        if piece is None:
            piece = bytes(self.llm.detokenize([token], special=False))
            self._bytes[token] = piece
        return piece

    def is_end(self, token: int) -> bool:
        return bool(
            llama_cpp.llama_vocab_is_eog(self._vocab, token)
            or llama_cpp.llama_vocab_is_control(self._vocab, token)
        )

    def end_tokens(self) -> list[int]:
        return list(self._end)

    def feed(self, tokens: Sequence[int]) -> None:
        self._want.extend(tokens)

    def logits(self) -> Logits:
        """Next-token logits after the wanted sequence (a view, valid until the next evaluation)."""
        want = self._want
        if len(want) > self.n_ctx:
            raise InputError(
                f"backbone {self.name!r}: prompt and answer need {len(want)} tokens but the context "
                f"holds {self.n_ctx}; shorten the input, lower max_tokens, or raise n_ctx"
            )
        if not (self._synced == len(want) and self._logits_for == len(want)):
            start = self._synced if self._synced < len(want) else (len(want) - 1) // BLOCK * BLOCK
            self._eval(start, want)
        ptr = llama_cpp.llama_get_logits(self.llm._ctx.ctx)
        return np.ctypeslib.as_array(ptr, shape=(self.n_vocab,))

    def _eval(self, start: int, want: list[int]) -> None:
        """Evaluate want[start:], cut at multiples of BLOCK (see the module docstring)."""
        self.llm.n_tokens = start
        self._canonical = min(self._canonical, start)
        pos = start
        while pos < len(want):
            end = min(len(want), (pos // BLOCK + 1) * BLOCK)
            self.llm.eval(want[pos:end])
            if pos == self._canonical and pos % BLOCK == 0 and end - pos == BLOCK:
                self._canonical = end
            pos = end
        self._synced = len(want)
        self._logits_for = len(want)

    # -- requests ------------------------------------------------------------------------------

    def start(self, tokens: Sequence[int]) -> None:
        """Begin a sequence: keep the KV cache for the prefix shared with what was evaluated."""
        tokens = list(tokens)
        cached = self.llm._input_ids[: self.llm.n_tokens]
        limit = min(len(cached), len(tokens))
        if limit:
            same = np.asarray(cached[:limit]) == np.asarray(tokens[:limit])
            prefix = int(limit if same.all() else np.argmin(same))
        else:
            prefix = 0
        reuse = min(prefix // BLOCK * BLOCK, self._canonical)
        if reuse >= len(tokens):  # the last block is evaluated again: its last row gives the logits
            reuse = max(0, reuse - BLOCK)
        self._logits_for = -1
        self._want = tokens
        self._synced = reuse

    def invalidate(self) -> None:
        """The Llama object was used directly (e.g. Llama.generate): nothing in it is ours."""
        self._logits_for = -1
        self._canonical = 0

    def forget(self) -> None:
        """Drop all cache knowledge (after someone else used the Llama object, or to time cold)."""
        self.llm.reset()
        self._want = []
        self._synced = 0
        self._canonical = 0
        self._logits_for = -1

    @property
    def length(self) -> int:
        return len(self._want)
