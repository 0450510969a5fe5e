"""Understanding one chat turn (pure): what a person's message is, in its conversation.

A message is one of (``Turn.kind``):

- ``task``: a chat app's own request (a title, tags, follow-up suggestions): it starts with
  ``### Task:`` or holds ``<chat_history>``, or it is one of LibreChat's title prompts
  (``alignment.chat_tasks``, which also answers it); it is never a dilemma;
- ``why``, ``why_not`` (about one option: a letter, the option's words, "the other one"),
  ``what_if`` (a value mattering ``more`` or ``less``, named in the person's words) and
  ``feedback`` ("I would choose B"): follow-ups about the last decision;
- ``dilemma``: a situation with two or more options (``alignment.chat_parse.parse_situation``),
  with any values stated in the same message;
- ``values``: values stated in words or numbers ("honesty matters most to me", "family comes
  first; my career only a little", "generosity 0.9, financial security 0.2");
- ``greeting``, ``help``, ``thanks``;
- ``situation``: a decision talked about without two options (the caller asks for them);
- ``off_topic``: anything else ("what is the capital of France?");
- ``proceed``: "ok, decide now" (the dilemma waiting for values is to be decided);
- ``no_decision``: a follow-up ("why?") in a conversation with no decision to follow;
- ``unclear``: the message is about something the reader cannot place (a value it cannot match,
  an option it cannot find): ``question`` is the one short question to ask back.

The person's words are matched to the values they may use (``ValueDef``: the attribute's name,
label, description and everyday words, ``alignment.value_words``): a word that is a value's name,
label or listed word matches outright; otherwise the sentence embeddings of the words and of each
value's texts are compared, and a match must be close enough and clearly ahead of the next value.
Never a guess: below that, the reader asks.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from pydantic import BaseModel, Field

from alignment.chat_parse import parse_situation
from alignment.chat_tasks import read_task
from alignment.embedding import Embedder
from alignment.models import readable_name
from alignment.value_levels import (
    COMPARE,
    CUE,
    NUMBER,
    PREFER,
    clauses,
    has_level,
    level_of,
    number_level,
    split_and,
    value_words,
)

__all__ = [
    "MATCH_MARGIN",
    "MATCH_THRESHOLD",
    "Conversation",
    "Turn",
    "TurnKind",
    "TurnReader",
    "ValueDef",
    "is_task",
]

# a value named in other words matches when its best text is at least this close (cosine of MiniLM
# embeddings) and this much closer than the next value's: "saving money" -> security 0.86 (power
# 0.62), "my faith" -> tradition 0.81, "health" -> security 0.60; "told" -> benevolence 0.52 and
# "learning" -> stimulation 0.50 are asked about; unrelated words score about 0.1-0.4
MATCH_THRESHOLD = 0.55
MATCH_MARGIN = 0.05
# within the values of the decision being discussed, a looser match (the person names one of them)
TARGET_THRESHOLD = 0.3

EVERYDAY_DOMAINS = ("everyday", "generic", "")  # preferred when two values share a name

TurnKind = Literal[
    "task",
    "why",
    "why_not",
    "what_if",
    "feedback",
    "dilemma",
    "values",
    "greeting",
    "help",
    "thanks",
    "situation",
    "off_topic",
    "unclear",
    "no_decision",
    "proceed",
]


@dataclass(frozen=True)
class ValueDef:
    """A value the person may use: an attribute's name and how people may call it."""

    name: str
    label: str = ""
    description: str = ""
    words: tuple[str, ...] = ()
    domain: str = ""

    @property
    def title(self) -> str:
        return (self.label or readable_name(self.name)).strip()

    def names(self) -> list[str]:
        """The words that match this value outright: its name, label, and listed words."""
        label = re.sub(r"\s*\(.*?\)\s*", " ", self.label).strip()  # "Fairness (Moral Foundations)"
        return [_fold(x) for x in (readable_name(self.name), self.name, label, *self.words) if x.strip()]

    def texts(self) -> list[str]:
        """The texts embedded for matching: label with description, and each listed word."""
        head = self.title
        return [f"{head}: {self.description}" if self.description else head, *self.words]


@dataclass
class Conversation:
    """What the reader knows of the conversation so far."""

    options: list[str] = field(default_factory=list)  # of the last decision ([] when none)
    chosen: int | None = None  # the option it chose
    decided_on: list[str] = field(default_factory=list)  # the values of its target
    asked_for_values: bool = False  # the last answer asked which values matter


class Turn(BaseModel):
    kind: TurnKind
    scenario: str = ""
    options: list[str] = Field(default_factory=list)
    values: dict[str, float] = Field(default_factory=dict)  # values stated: name -> level in [0, 1]
    said: dict[str, str] = Field(default_factory=dict)  # name -> the person's words for it
    option: int | None = None  # why_not / feedback: the option meant
    agree: bool | None = None  # feedback
    attribute: str | None = None  # what_if: the value moved
    attribute_words: str = ""  # what_if: the person's words for it
    direction: Literal["more", "less"] | None = None
    question: str = ""  # unclear: the one short question to ask


def _fold(text: str) -> str:
    text = re.sub(r"[_\-]+", " ", text.casefold())
    return re.sub(r"\s+", " ", re.sub(r"[^\w\s']", " ", text)).strip()


# -- recognisers -------------------------------------------------------------------------------------

_TASK = re.compile(r"^\s*#{2,4}\s*task\s*:|<chat_history>|</chat_history>", re.IGNORECASE)
_LEAD_WORDS = r"^\s*(?:(?:ok(?:ay)?|so|well|um+|hmm+|then|oh|ah|right|alright)\b[\s,!.]*)*"
_LEAD = _LEAD_WORDS
_GREETING = re.compile(
    r"^\s*(?:hi+|hello+|hey+|hiya|howdy|yo|greetings|good\s+(?:morning|afternoon|evening|day)|hallo|"
    r"hola|salut|bonjour)\b[\s!.,]*(?:there|all|everyone|assistant|bot|again|friend|folks)?[\s!.,:)]*"
    r"(?:how\s+are\s+you(?:\s+doing)?(?:\s+today)?\s*\??)?[\s!.?]*$",
    re.IGNORECASE,
)
_HELP = re.compile(
    _LEAD + r"(?:help|\?|help\s+me|i\s+need\s+help|what\s+(?:can|do|could)\s+you\s+"
    r"(?:do|help\s+(?:me\s+)?with|offer)"
    r"|what\s+are\s+you(?:\s+for)?|who\s+are\s+you|what\s+is\s+this(?:\s+(?:app|tool|thing|assistant))?"
    r"|how\s+(?:does\s+this|do\s+(?:you|i)\s+use\s+(?:this|you)|does\s+it)\s+work"
    r"|how\s+do\s+i\s+(?:use\s+(?:this|you|it)|start|begin)|what\s+should\s+i\s+(?:type|say|write|ask)"
    r"|how\s+can\s+you\s+help(?:\s+me)?|what\s+do\s+you\s+do|instructions|usage"
    r"|what\s+(?:kinds?|sorts?|types?)\s+of\s+(?:questions|things|decisions|problems)\s+can\s+(?:you|i))\b[^\n]{0,40}$",
    re.IGNORECASE,
)
_THANKS = re.compile(
    r"^\s*(?:thanks?(?:\s+you)?|thank\s+you(?:\s+so\s+much|\s+very\s+much)?|thx|ty|ok(?:ay)?|cool|great|"
    r"nice|got\s+it|perfect|awesome|bye|goodbye|see\s+you|cheers)\b[\s!.,]*(?:thanks?(?:\s+you)?)?"
    r"(?:\s*(?:a\s+lot|so\s+much|very\s+much|again|a\s+bunch|for\s+(?:\w+\s*){1,4}))?[\s!.]*$",
    re.IGNORECASE,
)
_WHY = re.compile(
    r"^\s*(?:(?:and|but|so|ok|okay|hmm+|really)[\s,]+)?(?:why\??|how\s+come|why\s+(?:is\s+)?(?:that|this|so)|"
    r"why\s+(?:do|did|would|does)\s+you\s+(?:say|think|recommend|suggest|choose|pick|prefer)\s*(?:that|this|it|so)?|"
    r"why\s+(?:that|this)\s+(?:one|option|choice)|(?:can|could|would)\s+you\s+explain(?:\s+(?:that|why|it|more|your\s+"
    r"(?:reasoning|choice|answer)))?(?:\s+(?:please|more))?|explain(?:\s+(?:that|why|it|please|more|yourself|"
    r"your\s+(?:reasoning|choice|answer)))*|what(?:'s|\s+is)\s+(?:the|your)\s+(?:reason(?:ing)?|rationale|"
    r"logic)(?:\s+behind\s+(?:that|this|it))?|tell\s+me\s+(?:more|why)|elaborate|on\s+what\s+basis|"
    r"what\s+made\s+you\s+(?:choose|pick|say)\s+(?:that|this|it)|reasons\??)[\s?!.]*(?:please)?[\s?!.]*$",
    re.IGNORECASE,
)
_WHY_NOT = re.compile(
    r"^\s*(?:(?:and|but|so|ok|okay|hmm+)[\s,]+)?(?:why\s+not|why\s+(?:didn't|did\s+not|don't|do\s+not|wouldn't|"
    r"not\s+pick|not\s+choose|not\s+go\s+with)\s+(?:you\s+)?(?:pick|choose|recommend|go\s+(?:for|with)|suggest|"
    r"take|prefer|select)?|what\s+about|how\s+about|what's\s+wrong\s+with|what\s+is\s+wrong\s+with|"
    r"why\s+is|why\s+isn't|why\s+is\s+not)\s+(?P<ref>.+?)\s*(?:instead|then|rather)?\s*[?!.]*\s*$",
    re.IGNORECASE,
)
_FEEDBACK = re.compile(
    r"^\s*(?:(?:actually|honestly|well|hmm+|no|nah|but|personally)[\s,]+)*(?:i|we)(?:'d|\s+would|\s+will|'ll|\s+rather|"
    r"\s+prefer|\s+think\s+i'?d|\s+pick|\s+choose|\s+go\s+with|\s+want)\s*(?:rather\s+|probably\s+|actually\s+|"
    r"definitely\s+|still\s+)?(?:choose|pick|go\s+(?:for|with)|take|prefer|select|do|vote\s+for|opt\s+for)?\s*"
    r"(?P<ref>.+?)\s*(?:instead|myself|personally|though|actually)?\s*[.!]*\s*$",
    re.IGNORECASE,
)
_AGREE = re.compile(
    r"^\s*(?:i\s+agree|agreed|you'?re\s+right|that'?s\s+right|good\s+(?:call|choice)|makes\s+sense|"
    r"i\s+(?:would|'d)\s+(?:choose|pick)\s+(?:that|the\s+same)(?:\s+too)?)[\s!.]*$",
    re.IGNORECASE,
)
_DISAGREE = re.compile(
    r"^\s*(?:i\s+disagree|i\s+don'?t\s+agree|wrong|that'?s\s+wrong|no\s+way)[\s!.]*$", re.IGNORECASE
)

_MORE_WORDS = r"more|higher|a\s+lot\s+more|much\s+more|even\s+more"
_LESS_WORDS = r"less|lower|a\s+lot\s+less|much\s+less|even\s+less|fewer"
_WHAT_IF_HEAD = (
    r"^\s*(?:(?:and|but|so|ok|okay|hmm+|now)[\s,]+)?(?:wh?a?t\s+if|waht\s+if|and\s+if|if|suppose|supposing|say|imagine|"
    r"what\s+would\s+(?:you\s+)?(?:say|choose|change|happen)\s+if|would\s+(?:it|that|the\s+answer|your\s+answer|"
    r"you)\s+change\s+if|how\s+about\s+if|what\s+happens\s+if|let's\s+say|and\s+what\s+if)\s+"
)
_WHAT_IF = [
    # what if I cared more about X / valued X more / cared about X less
    re.compile(
        _WHAT_IF_HEAD + r"(?:i|we)\s+(?:cared|care|valued|value|prioriti[sz]ed?|weighted|weigh|thought|think|"
        r"worried|worry|was|were)\s+(?:(?:much|a\s+lot|a\s+bit|a\s+little|far|way|even|slightly)\s+)?"
        r"(?P<dir>" + _MORE_WORDS + "|" + _LESS_WORDS + r")\s+(?:about\s+|of\s+|for\s+|on\s+|into\s+)?"
        r"(?P<attr>.+?)\s*[?!.]*\s*$",
        re.IGNORECASE,
    ),
    re.compile(
        _WHAT_IF_HEAD + r"(?:i|we)\s+(?:cared\s+about|valued|prioriti[sz]ed|weighted|cared\s+for|put)\s+"
        r"(?P<attr>.+?)\s+(?:(?:much|a\s+lot|a\s+bit|far|way|even)\s+)?(?P<dir>"
        + _MORE_WORDS
        + "|"
        + _LESS_WORDS
        + r")(?:\s+(?:weight|importance|highly|than\s+.+))?\s*[?!.]*\s*$",
        re.IGNORECASE,
    ),
    # what if X mattered more / X were less important (to me)
    re.compile(
        _WHAT_IF_HEAD + r"(?P<attr>.+?)\s+(?:mattered|matters|matter|counted|counts|was|were|is|became|got|"
        r"had\s+been)\s+(?:(?:much|a\s+lot|a\s+bit|far|way|even)\s+)?(?P<dir>"
        + _MORE_WORDS
        + "|"
        + _LESS_WORDS
        + r")(?:\s+(?:important|of\s+a\s+priority|of\s+a\s+concern|relevant))?(?:\s+(?:to|for)\s+(?:me|us))?"
        r"(?:\s+than\s+.+?)?\s*[?!.]*\s*$",
        re.IGNORECASE,
    ),
    # what if I prioritised X / put X first (more); what if I ignored X (less)
    re.compile(
        _WHAT_IF_HEAD
        + r"(?:i|we)\s+(?P<dir>prioriti[sz]ed|focused\s+on|put|ignored|neglected|disregarded)\s+"
        r"(?P<attr>.+?)(?:\s+first)?\s*[?!.]*\s*$",
        re.IGNORECASE,
    ),
    # what if I didn't care about X / X didn't matter (less); X was my top priority (more)
    re.compile(
        _WHAT_IF_HEAD
        + r"(?:i|we)\s+(?P<dir>didn'?t|did\s+not|don'?t|do\s+not)\s+(?:care|worry)\s+(?:much\s+)?"
        r"(?:about|for)\s+(?P<attr>.+?)(?:\s+(?:at\s+all|much|as\s+much))?\s*[?!.]*\s*$",
        re.IGNORECASE,
    ),
    re.compile(
        _WHAT_IF_HEAD + r"(?P<attr>.+?)\s+(?P<dir>didn'?t|did\s+not|doesn'?t|does\s+not|wasn'?t|weren'?t)\s+"
        r"(?:matter|count|important)(?:\s+(?:to|for)\s+(?:me|us))?(?:\s+(?:at\s+all|much|as\s+much))?\s*[?!.]*\s*$",
        re.IGNORECASE,
    ),
    re.compile(
        _WHAT_IF_HEAD + r"(?P<attr>.+?)\s+(?:was|were|is|became)\s+(?:my|our|the)\s+(?P<dir>top|main|first|"
        r"biggest|highest|number\s+one)\s+(?:priority|concern|value|thing)\s*[?!.]*\s*$",
        re.IGNORECASE,
    ),
    # more / less X? (short)
    re.compile(
        r"^\s*(?:(?:and|but|so|ok|okay|now)[\s,]+)?(?:with\s+)?(?P<dir>more|less)\s+(?:weight\s+on\s+|emphasis\s+on\s+|"
        r"focus\s+on\s+)?(?P<attr>[\w\s'-]{2,40}?)\s*\?\s*$",
        re.IGNORECASE,
    ),
]
_CARE_VERB = re.compile(
    r"\bcar(?:e|es|ed|ing)\s+(?:\w+\s+){0,2}?(?:about|for)\b|\b(?:i|we|really|don'?t)\s+care\b", re.I
)
_AGAIN = re.compile(
    r"^\s*(?:(?:and|but|so|ok|okay|now)[\s,]+)?(?:even|still|yet|much|a\s+bit|a\s+little|some|a\s+lot)?\s*"
    r"(?P<dir>more|less)(?:\s+(?:still|again|then))?\s*[?!.]*\s*$",
    re.IGNORECASE,
)
_PROCEED = re.compile(
    _LEAD_WORDS + r"(?:(?:please|now|so|yes|yeah|go\s+on)[\s,]*)*(?:decide|answer|choose|go\s+ahead|do\s+it|"
    r"continue|proceed|try\s+again|what\s+do\s+you\s+(?:think|say|recommend)|and\s+now|your\s+advice)"
    r"(?:\s+(?:now|please|then|for\s+me|it|again))*[\s?!.]*$",
    re.IGNORECASE,
)
_PRONOUN = re.compile(
    r"^(?:it|that|this|that\s+value|this\s+value|that\s+one|this\s+one|them)$", re.IGNORECASE
)

_DECISION_WORDS = re.compile(
    r"\b(?:should|shall|decide|deciding|decision|choose|choosing|choice|option|options|dilemma|torn|"
    r"whether|better|worse|pick|advice|advise|recommend|which\s+one|what\s+to\s+do|can't\s+make\s+up|"
    r"cannot\s+make\s+up|thinking\s+of|considering|not\s+sure|unsure|wondering|trying\s+to\s+figure|"
    r"have\s+to|need\s+to|my\s+(?:boss|friend|partner|wife|husband|sister|brother|mother|father|mom|dad|"
    r"neighbou?r|colleague|landlord|son|daughter))\b",
    re.IGNORECASE,
)
_QUESTION = re.compile(
    r"\?\s*$|^\s*(?:what|who|whom|whose|where|when|how|which|is|are|was|were|do|does|did|can|could|will|"
    r"tell|name|list|give|explain|define|calculate|translate|write)\b",
    re.IGNORECASE,
)
_OTHER = re.compile(
    r"^(?:(?:the|teh|th|da)\s+)?(?:other|othr|otehr|other\s+one|other\s+option|other\s+choice|alternative|second\s+one|"
    r"one\s+you\s+(?:didn'?t|did\s+not)\s+(?:pick|choose|recommend))$",
    re.IGNORECASE,
)
_ORDINALS = {"first": 0, "second": 1, "third": 2, "fourth": 3, "fifth": 4, "sixth": 5, "last": -1}
_WORD = re.compile(r"[a-z0-9']+")
_STOP = frozenset(
    (
        "the",
        "a",
        "an",
        "to",
        "of",
        "and",
        "or",
        "my",
        "i",
        "me",
        "we",
        "our",
        "your",
        "it",
        "its",
        "in",
        "on",
        "at",
        "for",
        "with",
        "not",
        "no",
        "do",
        "be",
        "is",
        "are",
        "was",
        "were",
        "this",
        "that",
        "one",
        "option",
        "choice",
        "them",
        "him",
        "her",
        "his",
        "their",
        "just",
    )
)


def is_task(text: str) -> bool:
    """Is this a chat app's own request (title, tags, follow-ups: ``alignment.chat_tasks``) rather
    than a person's message?"""
    return bool(_TASK.search(text)) or read_task(text) is not None


def _cosine(a: Sequence[float], b: Sequence[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    norm = math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b))
    return dot / norm if norm else 0.0


def _content_words(text: str) -> set[str]:
    return {w[:5] for w in _WORD.findall(text.casefold()) if w not in _STOP and len(w) > 2}


class TurnReader:
    """Reads a person's messages, matching their words to the ``values`` they may use.

    ``embedder``: sentence embeddings for words that name no value outright (None: outright
    matches only)."""

    def __init__(self, embedder: Embedder | None, values: Sequence[ValueDef]) -> None:
        self.embedder = embedder
        self.values = list(values)
        self._by_name = {v.name: v for v in self.values}

    # -- matching words to values -----------------------------------------------------------------

    def match_value(
        self,
        words: str,
        among: Sequence[str] | None = None,
        *,
        threshold: float = MATCH_THRESHOLD,
        embed: bool = True,
    ) -> tuple[str | None, list[str]]:
        """(the value the words name, or None; the closest values, best first, to offer in a question).

        ``among``: only these values (by name); ``embed``: False for outright matches only."""
        pool = [v for v in self.values if among is None or v.name in among]
        phrase = _fold(words)
        phrase = re.sub(r"^(?:the|my|our|a|an|being|having)\s+", "", phrase).strip()
        if not phrase or not pool:
            return None, []
        named = [  # the value's own name or label first
            v
            for v in pool
            if phrase in (_fold(readable_name(v.name)), _fold(v.name), _fold(re.sub(r"\(.*?\)", "", v.label)))
        ]
        if named:  # two packs may name one: an everyday value before a specialised one (triage)
            everyday = [v for v in named if v.domain in EVERYDAY_DOMAINS]
            return (everyday or named)[0].name, [v.name for v in named]
        # an attribute an admin added ("Family care", "Animal welfare") is named by the words of its
        # label before the seed packs' everyday words ("family" is also benevolence's)
        mine = _content_words(phrase)
        added = [
            v
            for v in pool
            if not v.words and v.domain in EVERYDAY_DOMAINS and mine & _content_words(f"{v.title} {v.name}")
        ]
        if len(added) == 1:
            return added[0].name, [added[0].name]
        said = {phrase, _fold(words), f"my {phrase}", f"the {phrase}"}
        outright = [v for v in pool if said & set(v.names())]
        if len(outright) >= 1:
            return outright[0].name, [v.name for v in outright]
        if self.embedder is None or not embed:
            return None, []
        best = self._similarities(words, pool)
        ranked = sorted(best, key=lambda n: -best[n])
        top = ranked[0]
        runner = best[ranked[1]] if len(ranked) > 1 else -1.0
        if best[top] >= threshold and best[top] - runner >= MATCH_MARGIN:
            return top, ranked[:3]
        return None, [n for n in ranked[:3] if best[n] >= threshold * 0.6]

    def _similarities(self, words: str, pool: Sequence[ValueDef]) -> dict[str, float]:
        """Per value of ``pool``, the cosine of the words to the closest of its texts (empty
        without an embedder)."""
        if self.embedder is None or not pool:
            return {}
        texts: list[str] = []
        owners: list[str] = []
        for v in pool:
            for t in v.texts():
                texts.append(t)
                owners.append(v.name)
        try:
            vectors = self.embedder.embed([words.strip(), *texts])
        except Exception:  # the model cannot load: outright matches only, and the reader asks
            return {}
        best: dict[str, float] = {}
        for owner, vector in zip(owners, vectors[1:], strict=True):
            best[owner] = max(best.get(owner, -1.0), _cosine(vectors[0], vector))
        return best

    def _mentions(self, clause: str) -> list[str]:
        """The values' own names and everyday words found in a clause, longest first, none inside
        another ("financial security" rather than "security")."""
        clause = _CARE_VERB.sub(" ", clause)  # "I care about X": the verb, not the value "care"
        folded = f" {_fold(clause)} "
        names = sorted({n for v in self.values for n in v.names() if len(n) > 2}, key=lambda n: (-len(n), n))
        found: list[str] = []
        for n in names:
            at = folded.find(f" {n} ")
            if at >= 0:
                found.append(n)
                folded = folded[:at] + " " + "#" * len(n) + " " + folded[at + len(n) + 2 :]
        order = {n: _fold(clause).find(n) for n in found}
        return sorted(found, key=lambda n: order[n])

    def title(self, name: str) -> str:
        v = self._by_name.get(name)
        return v.title if v else readable_name(name)

    # -- the turn ---------------------------------------------------------------------------------

    def read(self, text: str, conversation: Conversation | None = None) -> Turn:
        """What ``text`` is, given the conversation so far."""
        conversation = conversation or Conversation()
        message = text.strip()
        if is_task(message):
            return Turn(kind="task")
        if conversation.options:
            follow = self._follow_up(message, conversation)
            if follow is not None:
                return follow
        elif self._follow_up(message, Conversation(options=["", ""], chosen=0)) is not None:
            return Turn(kind="no_decision")
        if _GREETING.match(message):
            return Turn(kind="greeting")
        situation = parse_situation(message)
        stated = self.read_values(message, loose=conversation.asked_for_values)
        if situation.complete and not self._options_are_values(situation.options):
            values = (
                self.read_values(_without_options(message, situation.options)) if stated.values else stated
            )
            return Turn(
                kind="dilemma",
                scenario=situation.scenario,
                options=situation.options,
                values=values.values,
                said=values.said,
            )
        if _HELP.match(message):
            return Turn(kind="help")
        if _THANKS.match(message):
            return Turn(kind="thanks")
        if _PROCEED.match(message):
            return Turn(kind="proceed")
        if stated.kind in ("values", "unclear"):
            return stated
        if _DECISION_WORDS.search(message) and not _is_general_question(message):
            return Turn(kind="situation", scenario=message)
        if _QUESTION.search(message) or len(message.split()) < 6:
            return Turn(kind="off_topic")
        return Turn(kind="situation", scenario=message)

    def _options_are_values(self, options: list[str]) -> bool:
        """ "security or stimulation?" after being asked for values: the options are value names."""
        return all(self.match_value(o, embed=False)[0] is not None for o in options)

    # -- follow-ups -------------------------------------------------------------------------------

    def _follow_up(self, message: str, c: Conversation) -> Turn | None:
        if _WHY.match(message):
            return Turn(kind="why")
        for pattern in _WHAT_IF:
            found = pattern.match(message)
            if found:
                return self._what_if(found.group("attr"), found.group("dir"), c)
        again = _AGAIN.match(message)
        if again:  # "and even more?": the value just moved, when there is one to move
            way: Literal["more", "less"] = "more" if again.group("dir").casefold() == "more" else "less"
            if len(c.decided_on) == 1:
                return Turn(kind="what_if", attribute=c.decided_on[0], direction=way)
            return Turn(kind="unclear", question=self._which_value(c.decided_on))
        if _AGREE.match(message):
            return Turn(kind="feedback", agree=True, option=c.chosen)
        if _DISAGREE.match(message):
            other = _the_other(c)
            return Turn(kind="feedback", agree=False, option=other)
        why_not = _WHY_NOT.match(message)
        if why_not:
            ref = why_not.group("ref")
            option = self._option(ref, c.options, c.chosen)
            if option is not None:
                if c.chosen is not None and option == c.chosen and re.match(r"^\s*why\s+is", message, re.I):
                    return Turn(kind="why")
                return Turn(kind="why_not", option=option)
            if re.match(r"^\s*why\b", message, re.IGNORECASE) and len(ref.split()) <= 8:
                return Turn(kind="unclear", question=_which_option(c.options))
        feedback = _FEEDBACK.match(message)
        if feedback and len(message.split()) <= 14:
            option = self._option(feedback.group("ref"), c.options, c.chosen)
            if option is not None:
                return Turn(kind="feedback", option=option, agree=option == c.chosen)
        return None

    def _what_if(self, words: str, direction: str, c: Conversation) -> Turn:
        words = re.sub(r"\s+(?:to|for)\s+(?:me|us)$", "", words.strip(), flags=re.IGNORECASE)
        words = re.sub(r"^(?:about|for|of)\s+", "", words, flags=re.IGNORECASE).strip()
        d = direction.casefold()
        way: Literal["more", "less"] = (
            "less"
            if d.startswith(
                (
                    "less",
                    "lower",
                    "a lot less",
                    "much less",
                    "even less",
                    "fewer",
                    "didn",
                    "did",
                    "don",
                    "do ",
                    "doesn",
                    "does",
                    "wasn",
                    "weren",
                    "ignored",
                    "neglected",
                    "disregarded",
                )
            )
            or d in ("do not",)
            else "more"
        )
        if _PRONOUN.match(words):
            if len(c.decided_on) == 1:
                return Turn(kind="what_if", attribute=c.decided_on[0], attribute_words=words, direction=way)
            return Turn(kind="unclear", question=self._which_value(c.decided_on))
        if c.decided_on:
            name, _ = self.match_value(words, c.decided_on, embed=False)  # one of them, by name
            if name is not None:
                return Turn(kind="what_if", attribute=name, attribute_words=words, direction=way)
            name, _ = self.match_value(words, c.decided_on, threshold=TARGET_THRESHOLD)
            if name is not None and self._not_another_value(words, name):
                return Turn(kind="what_if", attribute=name, attribute_words=words, direction=way)
        name, close = self.match_value(words)
        if name is not None:
            return Turn(kind="what_if", attribute=name, attribute_words=words, direction=way)
        return Turn(kind="unclear", question=self._which_value(close or c.decided_on, words))

    def _not_another_value(self, words: str, name: str) -> bool:
        """A loose match within the target must be the value the words are closest to of all
        ("what if I cared more about money?" is not about security when money is nearer power;
        "my own finances" is not about loyalty)."""
        best, _ = self.match_value(words, embed=False)
        if best is not None:
            return best == name
        scores = self._similarities(words, self.values)
        return bool(scores) and scores.get(name, -1.0) >= max(scores.values()) - 0.02

    def _which_value(self, names: Sequence[str], words: str = "") -> str:
        said = f' by "{words.strip()}"' if words.strip() else ""
        if names:
            listed = _or_list([f"**{self.title(n)}**" for n in names[:3]])
            return f"Which value do you mean{said}: {listed}?"
        return f"Which of your values do you mean{said}? Name one, for example safety, family or excitement."

    def _option(self, ref: str, options: list[str], chosen: int | None) -> int | None:
        ref = ref.strip().strip("\"'“”").rstrip("?.!").strip()
        ref = re.sub(
            r"^(?:you\s+)?(?:pick|choose|recommend|go\s+(?:for|with)|take|select)\s+", "", ref, flags=re.I
        )
        ref = re.sub(r"\s+(?:instead|then|rather|too)$", "", ref, flags=re.IGNORECASE).strip()
        if _OTHER.match(ref):
            return _the_other(Conversation(options=options, chosen=chosen))
        bare = re.sub(r"^(?:the\s+)?(?:option|choice|answer)\s+", "", ref, flags=re.IGNORECASE).strip()
        bare = re.sub(r"^\(|\)$", "", bare).strip()
        if len(bare) == 1 and bare.isalpha() and 0 <= ord(bare.upper()) - 65 < len(options):
            return ord(bare.upper()) - 65
        if bare.isdigit() and 1 <= int(bare) <= len(options):
            return int(bare) - 1
        word = re.sub(r"^the\s+", "", bare, flags=re.IGNORECASE).split()
        if word and word[0].casefold() in _ORDINALS and len(word) <= 3:
            index = _ORDINALS[word[0].casefold()]
            return index % len(options) if index < len(options) else None
        folded = _fold(ref)
        exact = [i for i, o in enumerate(options) if _fold(o) == folded or (folded and folded in _fold(o))]
        if len(exact) == 1:
            return exact[0]
        mine = _content_words(ref)
        if not mine:
            return None
        overlap = [len(mine & _content_words(o)) / len(mine) for o in options]
        best = max(range(len(options)), key=lambda i: overlap[i])
        ties = [i for i in range(len(options)) if overlap[i] == overlap[best]]
        if overlap[best] >= 0.5 and len(ties) == 1:
            return best
        if self.embedder is not None and len(folded.split()) >= 2:
            vectors = self.embedder.embed([ref, *options])
            sims = [_cosine(vectors[0], v) for v in vectors[1:]]
            order = sorted(range(len(options)), key=lambda i: -sims[i])
            if sims[order[0]] >= 0.55 and (len(order) == 1 or sims[order[0]] - sims[order[1]] >= 0.08):
                return order[0]
        return None

    # -- values ----------------------------------------------------------------------------------

    def read_values(self, message: str, *, loose: bool = False) -> Turn:
        """The values a message states, each with a level; ``values`` when there are some and every
        value named could be matched, ``unclear`` (with a question) when a value could not be, else
        ``off_topic``. ``loose``: the message answers a question about values, so a bare list of
        values ("honesty and family") is a statement, each at a high level."""
        values: dict[str, float] = {}
        said: dict[str, str] = {}
        unmatched: list[tuple[str, list[str]]] = []
        carried = ""
        for clause in clauses(message):
            clause = f"{carried} {clause}".strip()
            found = self._clause_values(clause, loose)
            # "Fitting in, only a little": a value named before the comma, how much after it
            carried = clause if not found and self._mentions(clause) and not CUE.search(clause) else ""
            for words, level in found:
                name, close = self.match_value(words)
                if name is None:
                    unmatched.append((words, close))
                    continue
                if name in values and said[name] != words:
                    level = max(level, values[name])
                    said[name] = f"{said[name]}, {words}"
                else:
                    said[name] = words
                values[name] = level
        if unmatched and (values or loose or len(unmatched[0][0].split()) <= 4):
            words, close = unmatched[0]
            # a value named that none matches: ask, never guess
            return Turn(kind="unclear", values=values, said=said, question=self._which_value(close, words))
        if values:
            return Turn(kind="values", values=values, said=said)
        return Turn(kind="off_topic")

    def _clause_values(self, clause: str, loose: bool) -> list[tuple[str, float]]:
        """(the person's words for a value, its level) in one clause."""
        clause = clause.strip().strip(".!?").strip()
        if not clause:
            return []
        compare = PREFER.match(clause) or COMPARE.match(clause)
        if compare and not NUMBER.search(clause):
            a, b = value_words(compare.group("a")), value_words(compare.group("b"))
            pairs = [(w, 0.8) for w in split_and(a)] + [(w, 0.3) for w in split_and(b)]
            return [(w, v) for w, v in pairs if w]
        numbers = list(NUMBER.finditer(clause))
        if len(numbers) >= 2:  # "independence 8/10 and conformity 2/10": one value per number
            out: list[tuple[str, float]] = []
            start = 0
            for found in numbers:
                out.extend(self._clause_values(clause[start : found.end()], loose))
                start = found.end()
            return out
        number = number_level(clause)
        if number is not None:
            words = value_words(NUMBER.sub(" ", clause))
            if not words or len(words.split()) > 4:  # "I have 20,000 in savings" states no value
                return []
            return [(w, number) for w in split_and(words) if w]
        if not CUE.search(clause) and not loose:
            return []
        if _QUESTION.search(clause) and not loose and not re.search(r"\b(?:i|me|my)\b", clause, re.I):
            return []
        level = level_of(clause)
        mentioned = self._mentions(clause)
        if len(mentioned) > 1:  # "stability a lot and excitement only a bit": a level for each part
            parts: list[tuple[str, float]] = []
            for part in re.split(r"\s*(?:\band\b|&|\+)\s*", clause):
                named = self._mentions(part)
                if named:
                    said = has_level(part)
                    level = level_of(part) if said else (parts[-1][1] if parts else level)
                    parts.extend((w, level) for w in named)
            return parts
        if mentioned:
            return [(w, level) for w in mentioned]
        words = value_words(clause)
        if not words or len(words.split()) > 5:
            return []
        return [(w, level) for w in split_and(words) if w]


def _the_other(c: Conversation) -> int | None:
    if c.chosen is None or len(c.options) != 2:
        return None
    return 1 - c.chosen


def _which_option(options: list[str]) -> str:
    listed = _or_list([f"({chr(65 + i)}) {o}" for i, o in enumerate(options)])
    return f"Which option do you mean: {listed}?"


def _or_list(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " or " + items[-1]


def _without_options(message: str, options: list[str]) -> str:
    """The message without its sentences that list the options (the values may be stated around them)."""
    kept = []
    for sentence in re.split(r"(?<=[.?!])\s+|\n", message):
        folded = _fold(sentence)
        if any(_fold(o) and _fold(o) in folded for o in options) or sentence.strip().startswith(
            ("-", "*", "•")
        ):
            continue
        kept.append(sentence)
    return " ".join(kept)


def _is_general_question(message: str) -> bool:
    """A question about the world ("what is the capital of France?"), not about the person's choice."""
    return bool(
        re.match(
            r"^\s*(?:what|who|where|when|how\s+(?:many|much|far|old|long|big|tall))\b", message, re.IGNORECASE
        )
        and not re.search(r"\b(?:i|me|my|we|our|us)\b", message, re.IGNORECASE)
    )
