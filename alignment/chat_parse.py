"""Understanding chat messages (pure): find the scenario and its options (what else a message is, a
follow-up, values in words, a greeting, is read by ``alignment.turns``)."""

from __future__ import annotations

import re

from pydantic import BaseModel

__all__ = ["ParsedSituation", "parse_situation"]

_BULLET = re.compile(r"^\s*(?:[-*•]|\(?[A-Za-z]\)|\(?\d{1,2}[.)]|[A-Z]\.)\s+(?P<text>\S.*)$")
_OPTIONS_LINE = re.compile(r"(?:^|\s)(?:options?|choices?|alternatives?)\s*:\s*(?P<list>.+)$", re.IGNORECASE)
_SHOULD = re.compile(
    r"(?:should|do|would|could|must|can)\s+(?:i|we)\s+(?P<a>[^?.!]+?)\s*,?\s+or\s+(?P<b>[^?.!]+?)\s*\?",
    re.IGNORECASE,
)
_SPLIT = re.compile(r"\s*(?:;|,\s*or\s+|\s+or\s+|,)\s*", re.IGNORECASE)
# options typed on the situation's own line ("... by mistake. - Treat him - Treat her"): a chat box
# sends on Enter, so people list them inline; a spaced hyphen or bullet separates them
_INLINE = re.compile(r"\s+[-•]\s+")
# "Option A: sell the car. Option B: keep it."
_LABELLED = re.compile(
    r"\b(?:option|choice)\s+(?:[A-Za-z]|\d{1,2})\s*[:.)-]\s*(?P<text>.+?)(?=\s*\b(?:option|choice)\s+(?:[A-Za-z]|\d{1,2})\s*[:.)-]|$)",
    re.IGNORECASE,
)
# a question that names its options ("Index fund or food truck?", "Is it better to rent or to buy?"),
# or a sentence with "either ... or"
_SENTENCE = re.compile(r"[^.?!\n]+[.?!]*")
_DECIDE_COLON = re.compile(
    r"\b(?:decide|choose|pick|choice|options?|dilemma|question)\b[^:]{0,20}:", re.IGNORECASE
)
_EITHER = re.compile(r"\b(?:either|whether)\b", re.IGNORECASE)
_OR = re.compile(r",?\s+or\s+", re.IGNORECASE)
_STEM = re.compile(
    r"^(?:(?:so|and|but|now|then|well|ok|okay|hmm)\b[\s,]*"
    r"|(?:do|would|should|can|could)\s+you\s+(?:think|say|recommend|suggest|advise)\s+(?:that\s+)?"
    r"|(?:should|shall|do|would|could|can|must|may)\s+(?:i|we)\s+"
    r"|(?:is|was|would|will)\s+it\s+(?:be\s+)?(?:better|wiser|best|smarter|right|fairer|kinder)\s+"
    r"(?:for\s+(?:me|us)\s+)?(?:to\s+)?"
    r"|(?:i|we)\s+(?:can|could|must|should|have\s+to|need\s+to|might)\s+"
    r"|either\s+|to\s+)",
    re.IGNORECASE,
)
# "I'm torn between A and B", "deciding between A, B and C", "A vs B?"
_BETWEEN = re.compile(
    r"\b(?:torn|choose|choosing|decide|deciding|pick|picking|hesitating|stuck|wavering|split|undecided)\s+"
    r"between\s+(?P<list>[^.?!\n]+?\s+and\s+[^.?!\n]+?)\s*(?:[.?!]|$)",
    re.IGNORECASE,
)
_VERSUS = re.compile(
    r"^\s*(?P<a>[^.?!:\n]{2,120}?)\s+(?:vs\.?|versus)\s+(?P<b>[^.?!\n]{2,120}?)\s*[.?!]*\s*$", re.I
)
_AFTERTHOUGHT = re.compile(r",\s*(?:which|because|since|as|but|so|who|that|where|though)\b", re.IGNORECASE)
_AND = re.compile(r"\s*,\s*(?:and\s+)?|\s+and\s+", re.IGNORECASE)
_QUESTION_HEAD = re.compile(r"^\s*(?:which|what|who|how|where)\b", re.IGNORECASE)
_NOT_A_DILEMMA = re.compile(r"^\s*(?:why|what\s+if|how\s+about|what\s+about)\b", re.IGNORECASE)  # follow-ups


class ParsedSituation(BaseModel):
    scenario: str
    options: list[str]

    @property
    def complete(self) -> bool:
        return bool(self.scenario) and len(self.options) >= 2


def _dedupe(options: list[str]) -> list[str]:
    seen: set[str] = set()
    out = []
    for option in options:
        option = option.strip().rstrip(".?!").strip()
        if option and option.casefold() not in seen:
            seen.add(option.casefold())
            out.append(option)
    return out


def parse_situation(text: str) -> ParsedSituation:
    """Split a message into the situation and the options the user listed.

    Recognised, first found wins: bulleted or numbered lines (``- x``, ``1. x``, ``A) x``), a line
    ``Options: x; y; z``, options listed on the situation's line (``situation - x - y``: two or more
    spaced hyphens), ``Option A: x. Option B: y.``, and a question or an "either" sentence that names
    them (``Should I X or Y?``, ``Which should I choose: X or Y?``, ``X, Y or Z?``), "torn between X and
    Y", and ``X vs Y``. Fewer than two
    options means the caller must ask for them.
    """
    lines = text.strip().splitlines()
    scenario_lines: list[str] = []
    options: list[str] = []
    for line in lines:
        bullet = _BULLET.match(line)
        listed = _OPTIONS_LINE.search(line)
        if bullet:
            options.append(bullet.group("text"))
        elif listed:
            options.extend(_SPLIT.split(listed.group("list")))
            scenario_lines.append(line[: listed.start()])
        else:
            scenario_lines.append(line)
    scenario = "\n".join(scenario_lines).strip()
    if len(_dedupe(options)) < 2:
        inline = _inline_options(scenario_lines)
        if inline is not None:
            scenario, options = inline
    if len(_dedupe(options)) < 2:
        labelled = list(_LABELLED.finditer(text))
        if len(_dedupe([m.group("text") for m in labelled])) >= 2:
            options = [m.group("text") for m in labelled]
            scenario = text[: labelled[0].start()].strip() or text.strip()
    if len(_dedupe(options)) < 2:
        named = _or_question(text)
        if named:
            options = named
            scenario = text.strip()
    if len(_dedupe(options)) < 2:
        found = list(_SHOULD.finditer(text))
        if found:
            match = found[-1]
            options = [match.group("a"), *_SPLIT.split(match.group("b"))]
            scenario = text.strip()
    if len(_dedupe(options)) < 2:
        between = list(_BETWEEN.finditer(text))
        if between:
            words = _AFTERTHOUGHT.split(between[-1].group("list"))[0]
            options = _AND.split(words)
            scenario = text.strip()
    if len(_dedupe(options)) < 2:
        versus = [m for line in text.splitlines() if (m := _VERSUS.match(line))]
        if versus:
            options = [versus[-1].group("a"), versus[-1].group("b")]
            scenario = text.strip()
    options = _dedupe(options)
    if not scenario and options:
        scenario = "Which option is best?"
    return ParsedSituation(scenario=scenario, options=options)


def _inline_options(lines: list[str]) -> tuple[str, list[str]] | None:
    """(situation, options) from the last line that lists two or more options after spaced hyphens
    (a single spaced hyphen is punctuation: "I have two choices - both bad")."""
    for k in range(len(lines) - 1, -1, -1):
        parts = _INLINE.split(lines[k].strip())
        if len(parts) >= 3 and parts[0].strip() and len(_dedupe(parts[1:])) >= 2:
            scenario = "\n".join([*lines[:k], parts[0]]).strip()
            return scenario, parts[1:]
    return None


def _strip_stems(text: str) -> str:
    while True:
        stripped = _STEM.sub("", text, count=1).strip()
        if stripped == text:
            return text
        text = stripped


def _or_question(text: str) -> list[str]:
    """The options of the last question that names them with "or" (or of an "either ... or"
    sentence): "Which should I choose: the fund or the truck?" -> [the fund, the truck];
    "A, B or C?" -> [A, B, C]. Empty when there is none."""
    sentences = [
        m.group(0)
        for m in _SENTENCE.finditer(text)
        if _OR.search(m.group(0))
        and (
            m.group(0).rstrip().endswith("?")
            or _EITHER.search(m.group(0))
            or _DECIDE_COLON.search(m.group(0))
        )
    ]
    if not sentences:
        return []
    body = sentences[-1].strip().rstrip("?.! ")
    if _NOT_A_DILEMMA.match(body):
        return []
    if ":" in _OR.split(body, maxsplit=1)[0]:
        body = body.split(":", 1)[1]  # "Which should I choose: A or B"
    else:
        head, comma, rest = body.partition(",")
        if comma and _QUESTION_HEAD.match(head) and _OR.search(rest):
            body = rest  # "What is better for me, A or B"
    keyword = _EITHER.search(body)
    if keyword and _OR.search(body[keyword.end() :]):
        body = body[keyword.end() :]  # "I can't decide whether to A or B", "either A or B"
    parts = _OR.split(_strip_stems(body.strip()))
    if len(parts) < 2:
        return []
    first = [x for x in parts[0].split(", ") if x.strip()] if ", " in parts[0] else [parts[0]]
    options = [_strip_stems(x.strip()) for x in [*first, *parts[1:]]]
    if any(not o or len(o) > 300 for o in options):
        return []
    return options
