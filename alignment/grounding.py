"""Options grounded in their scenario: "Treat Patient A" says nothing by itself; the scenario says
who Patient A is. ``ground_choices`` adds to each option the clauses of the scenario that mention the
people or things the option names and no other option names.

Pure text functions, no model: an entity is a run of capitalised words, single capitals or numbers
in the option ("Patient A", "Casualty O", "Hassan"), not counting the option's first word (a verb:
"Treat"), that occurs in the scenario and not in every option.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

__all__ = ["choice_entities", "ground_choices", "named_entities"]

_TOKEN = re.compile(r"[A-Za-z0-9][\w'’-]*")
_SENTENCE = re.compile(r"(?<=[.!?])\s+|\n+")
_CLAUSE = re.compile(r"[;:()]|,\s*(?:and|but|while|whereas)?\s*|\s+(?:and|but|while|whereas)\s+(?=[A-Z0-9])")
_MAX_CONTEXT_CHARS = 400


def _is_entity_token(token: str) -> bool:
    return token[0].isupper() or token[0].isdigit()


def choice_entities(choice: str) -> list[str]:
    """Runs of capitalised words / single capitals / numbers in an option; a word that starts a
    sentence of the option ("Treat", "Obey") does not start a run, and all-capitals runs ("CHECK
    PULSE", "SITREP") name no one."""
    runs: list[list[str]] = []
    previous_end: int | None = None
    for match in _TOKEN.finditer(choice):
        word = match.group(0)
        gap = choice[previous_end : match.start()] if previous_end is not None else ""
        starts_sentence = previous_end is None or re.search(r"[.!?]\s*$", gap) is not None
        joins = bool(runs) and runs[-1] != [] and gap.strip() == "" and previous_end is not None
        if _is_entity_token(word) and joins:
            runs[-1].append(word)
        elif _is_entity_token(word) and not starts_sentence:
            runs.append([word])
        else:
            runs.append([])
        previous_end = match.end()
    out = [" ".join(r) for r in runs if r]
    return [
        r
        for r in dict.fromkeys(out)
        if any(w[0].isupper() for w in r.split())  # "3 patients" names no one; "Patient 1" does
        and not all(len(w) > 1 and w.isupper() for w in r.split())
    ]


def _mentions(text: str, entity: str) -> bool:
    return re.search(rf"(?<![\w]){re.escape(entity)}(?![\w])", text) is not None


def named_entities(text: str, choice: str) -> list[str]:
    """The entities of an option that its scenario mentions."""
    return [e for e in choice_entities(choice) if _mentions(text, e)]


def ground_choices(text: str, choices: Sequence[str]) -> list[str]:
    """Each option followed by the scenario clauses about the entities only it names (unchanged when
    it names none)."""
    named = [named_entities(text, c) for c in choices]
    distinguishing = {e for es in named for e in es if sum(e in other for other in named) < len(choices)}
    if not distinguishing:
        return list(choices)
    clauses = [
        c.strip(" .!?\"'")
        for sentence in _SENTENCE.split(text)
        for c in _CLAUSE.split(sentence)
        if c and c.strip(" .!?\"'")
    ]
    out = []
    for choice, entities in zip(choices, named, strict=True):
        own = [e for e in entities if e in distinguishing]
        others = distinguishing - set(own)
        context = [
            c
            for c in clauses
            if any(_mentions(c, e) for e in own) and not any(_mentions(c, o) for o in others)
        ]
        context = [c for c in dict.fromkeys(context) if c not in own]  # not the bare name
        extra = ". ".join(context)[:_MAX_CONTEXT_CHARS]
        out.append(f"{choice.rstrip()} ({extra})" if extra else choice)
    return out
