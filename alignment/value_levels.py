"""How much a value matters, from a person's words (pure): "honesty matters most to me",
"my career only a little", "generosity 0.9", "adventure 9/10", "security more than excitement".

The turn reader (``alignment.turns``) splits a message into clauses, finds the words that name a
value (``value_words``: the clause without the words that say how much) and reads the level
(``level_of``: the first of ``LEVELS`` that the clause says, else a plain statement, 0.75; or a
number: ``number_level``).
"""

from __future__ import annotations

import re

__all__ = [
    "COMPARE",
    "CUE",
    "LEVELS",
    "NUMBER",
    "PREFER",
    "clauses",
    "has_level",
    "level_of",
    "number_level",
    "split_and",
    "value_words",
]

# value statements: how much a value matters, from the words around it
LEVELS: list[tuple[re.Pattern[str], float]] = [
    (
        re.compile(
            r"\b(?:not\s+at\s+all|don'?t\s+care\s+(?:at\s+all\s+)?about|do\s+not\s+care\s+about|doesn'?t\s+matter|"
            r"does\s+not\s+matter|don'?t\s+(?:like|want|value|need)|don'?t\s+matter|couldn'?t\s+care\s+less|irrelevant|unimportant|not\s+important|"
            r"no\s+importance|zero|hate|dislike|matters?\s+nothing|i'?m\s+not\s+into|never\s+mind)\b",
            re.IGNORECASE,
        ),
        0.1,
    ),
    (
        re.compile(
            r"\b(?:(?:only\s+)?a\s+(?:little|bit)(?:\s+bit)?|not\s+(?:very\s+|that\s+|so\s+)?much|slightly|"
            r"barely|hardly|less|least|low|not\s+(?:very|that|so|really)\s+(?:important|much)|"
            r"(?:isn'?t|is\s+not|aren'?t)\s+(?:very\s+|that\s+|so\s+|really\s+)?(?:important|a\s+priority)|"
            r"matters?\s+(?:very\s+)?little|last|lowest|minor|don'?t\s+(?:really\s+)?care\s+much|"
            r"don'?t\s+really\s+care|comes?\s+last|secondary)\b",
            re.IGNORECASE,
        ),
        0.2,
    ),
    (
        re.compile(
            r"(?:\bnot|n't|\bnever)\s+(?:very\s+|that\s+|so\s+|really\s+|particularly\s+|too\s+)?\w+", re.I
        ),
        0.2,
    ),
    (
        re.compile(
            r"\b(?:somewhat|moderately|kind\s+of|sort\s+of|fairly|medium|moderate|so-so|a\s+fair\s+amount|"
            r"to\s+some\s+extent|in\s+the\s+middle|neutral|halfway|average)\b",
            re.IGNORECASE,
        ),
        0.5,
    ),
    (
        re.compile(
            r"\b(?:most|first|above\s+all|more\s+than\s+anything|the\s+most|top\s+priority|number\s+one|"
            r"#1|everything|love|adore|passionate|crucial|essential|paramount|vital|extremely|hugely|"
            r"enormously|deeply|absolutely|non-negotiable|core|highest|biggest|key)\b|\bmore\s*$",
            re.IGNORECASE,
        ),
        0.9,
    ),
    (
        re.compile(
            r"\b(?:a\s+lot|very|really|so\s+much|strongly|big|high|greatly|highly|much|important|matters?|"
            r"priority|value|treasure|cherish|care\s+(?:a\s+lot\s+)?about|like|enjoy|want|need|"
            r"focus\s+on|prefer|believe\s+in|live\s+for)\b",
            re.IGNORECASE,
        ),
        0.8,
    ),
]
NUMBER = re.compile(
    r"(?P<num>\d+(?:[.,]\d+)?|\.\d+)\s*(?P<unit>%|percent|/\s*10\b|/\s*100\b|out\s+of\s+(?:10|ten|100)\b)?"
)
CUE = re.compile(
    r"\b(?:matters?|mattered|important|importance|priority|priorities|prioriti[sz]e|value|values|valued|"
    r"care\s+(?:\w+\s+){0,2}(?:about|for)|cares|love|loves|adore|like|enjoy|comes?\s+first|comes?\s+last|first|last|"
    r"don'?t\s+care|do\s+not\s+care|doesn'?t\s+matter|not\s+important|treasure|cherish|believe\s+in|"
    r"live\s+for|a\s+little|a\s+lot|only|least|most|above\s+all|rank|passionate|weight|essential|"
    r"crucial|vital|key|number\s+one|high|low|more\s+than|over|hate|dislike|everything|central|means?|"
    r"the\s+world\s+to\s+me|huge|big\s+deal|heart|not\s+(?:so\s+|that\s+|very\s+|too\s+)?much|not\s+really|"
    r"barely|hardly|slightly|somewhat|moderately|none|not\s+at\s+all|part\s+of\s+who\s+i\s+am|who\s+i\s+am|more\s*$|"
    r"i'?m\s+(?:(?:not|very|quite|really|pretty|rather|a\s+bit|fairly|so|too|an?)\s+)*\w+|"
    r"i\s+am\s+(?:(?:not|very|quite|really|pretty|rather|a\s+bit|fairly|so|too|an?)\s+)*\w+)\b",
    re.IGNORECASE,
)
# the words of a value statement that are not the value ("to me", "I", "really matters most")
_FILLER = re.compile(
    r"\b(?:i|i'm|i'd|me|my|mine|myself|we|our|us|for|to|is|are|am|was|be|the|a|an|what|that|which|"
    r"really|very|so|much|most|more|less|least|a\s+lot|a\s+little|a\s+bit|bit|little|only|just|also|too|"
    r"matters?|mattered|important|importance|priority|priorities|prioriti[sz]e|top|highest|lowest|number|"
    r"one|value|values|valued|care|cares|cared|about|love|loves|adore|like|enjoy|comes?|first|last|second|"
    r"third|don'?t|do|does|doesn'?t|not|at|all|treasure|cherish|believe|in|live|above|everything|"
    r"anything|else|of|things?|thing|lot|high|low|medium|moderate|moderately|somewhat|fairly|quite|"
    r"absolutely|extremely|deeply|hugely|key|vital|crucial|essential|weight|set|put|rate|rated|rank|"
    r"ranked|it|its|it's|honestly|personally|probably|always|never|think|feel|guess|would|say|and|"
    r"than|over|please|hate|dislike|slightly|barely|hardly|minor|secondary|kind|sort|passionate|big|"
    r"biggest|strongly|greatly|highly|percent|out|ten|hundred|score|level|with|when|it\s+comes|"
    r"comes\s+to|regarding|as|far|as\s+far\s+as|concerned|goes|though|but|whereas|while|irrelevant|"
    r"unimportant|zero|nothing|none|ok|okay|fine|well|also|still|even|quite|pretty|that's|this|these|"
    r"those|some|extent|neutral|middle|average|halfway|half|want|need|focus|on|prefer|can|can't|"
    r"should|isn'?t|aren'?t|wasn'?t|matter|little|lots|great|greatly|mostly|mainly|core|paramount|"
    r"non-negotiable|crucially|#1|ranks?|way|far|less|being)\b",
    re.IGNORECASE,
)
_CLAUSES = re.compile(
    r"\s*(?:[;\n!?]|\band\s+(?=(?:i|i'm|i'd|i've|my|we|our)\b)|\.(?:\s|$)|,(?!\d)|\bbut\b|\bwhile\b|"
    r"\bwhereas\b|\bthough\b|\band\s+then\b)\s*",
    re.IGNORECASE,
)
COMPARE = re.compile(
    r"^(?P<a>.+?)\s+(?:matters?|counts?|is|are|comes?)?\s*(?:much\s+|far\s+|way\s+)?(?:more\s+(?:important\s+)?than|"
    r"over|before|ahead\s+of|above|rather\s+than|trumps|beats|outweighs?|>+)\s+(?P<b>.+)$",
    re.IGNORECASE,
)
PREFER = re.compile(
    r"^(?:i\s+)?(?:value|care\s+about|prefer|prioriti[sz]e|put)\s+(?P<a>.+?)\s+(?:more\s+than|over|"
    r"before|above|ahead\s+of|rather\s+than)\s+(?P<b>.+)$",
    re.IGNORECASE,
)


def clauses(message: str) -> list[str]:
    return [c for c in _CLAUSES.split(message) if c and c.strip()]


def split_and(words: str) -> list[str]:
    parts = re.split(r"\s*(?:\band\b|&|\+|/|\bas\s+well\s+as\b|\bplus\b)\s*", words)
    return [p.strip() for p in parts if p.strip()]


def value_words(clause: str) -> str:
    """The words that name the value: the clause without the words that say how much it matters."""
    text = re.sub(
        r"\b(?:i|you|we|they|it|that|what|he|she)'(?:d|m|s|re|ve|ll)\b", " ", clause, flags=re.IGNORECASE
    )
    text = re.sub(r"[\"“”:=()\[\]*]", " ", text)
    text = re.sub(r"(?<!\w)-(?!\w)", " ", text)
    text = _FILLER.sub(" ", text)
    text = re.sub(r"[^\w\s'&+/-]", " ", text)
    text = re.sub(r"(?<!\w)'|'(?!\w)", " ", text)
    return re.sub(r"\s+", " ", text).strip()


def has_level(clause: str) -> bool:
    return any(pattern.search(clause) for pattern, _ in LEVELS)


def level_of(clause: str) -> float:
    for pattern, level in LEVELS:
        if pattern.search(clause):
            return level
    return 0.75


def number_level(clause: str) -> float | None:
    found = NUMBER.search(clause)
    if not found:
        return None
    if re.fullmatch(r"\d{1,3},\d{3}", found.group("num")):
        return None  # 20,000: an amount, not a level
    raw = found.group("num").replace(",", ".")
    try:
        number = float(raw)
    except ValueError:
        return None
    unit = (found.group("unit") or "").replace(" ", "").casefold()
    if unit in ("%", "percent") or unit.endswith("100"):
        number /= 100
    elif unit.endswith("10") or unit.endswith("ten"):
        number /= 10
    elif number > 1:
        if number <= 10:
            number /= 10
        else:
            return None
    return round(min(1.0, max(0.0, number)), 2)
