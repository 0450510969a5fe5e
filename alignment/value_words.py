"""Everyday words for the seed packs' values (pure data): how people name a value in a chat.

A person says "honesty", "family", "money" or "adventure", not "benevolence", "security" or
"stimulation". The turn reader (``alignment.turns``) matches a person's words to a value through
the value's name, label and description and these words, with sentence embeddings; a word listed
here matches its value outright. The lists follow the values' own definitions (Schwartz's value
survey puts "helpful", "forgiving" and "responsible" under benevolence; "wealth" under power; "a
varied life" and "an exciting life" under stimulation), and the everyday topics of
``datasets/everyday``. Honesty is the everyday pack's own value (``honesty``), not Moral
Foundations' fairness nor Schwartz's benevolence: read as benevolence, value-fit chose the honest
option in 1 of the 5 honesty dilemmas of ``datasets/everyday/everyday_novel_input_output.json`` and
kept a found wallet's money. The everyday pack (``profiles/seeds/everyday.json``) lists its own
values' words beside their definitions; a word it lists goes to its value, not to a value here
(``profiles.seed.value_words``). An attribute an admin adds is matched through its own name,
label and description; a word that is also an attribute's name or label goes to that attribute
first.
"""

from __future__ import annotations

from collections.abc import Mapping

__all__ = ["VALUE_WORDS", "words_for"]

VALUE_WORDS: Mapping[str, tuple[str, ...]] = {
    # Schwartz
    "self_direction": (
        "independence",
        "freedom to choose",
        "autonomy",
        "creativity",
        "curiosity",
        "being my own boss",
        "making my own choices",
        "doing my own thing",
        "self-direction",
        "self direction",
    ),
    "stimulation": (
        "excitement",
        "adventure",
        "novelty",
        "thrill",
        "thrills",
        "new experiences",
        "variety",
        "challenge",
        "daring",
        "fun and excitement",
        "exciting life",
        "trying new things",
        "travel",
        "exploring",
    ),
    "hedonism": (
        "pleasure",
        "fun",
        "enjoyment",
        "enjoying life",
        "comfort",
        "treats",
        "having a good time",
        "luxury",
        "relaxation",
        "leisure",
    ),
    "achievement": (
        "career",
        "success",
        "ambition",
        "achievement",
        "getting ahead",
        "doing well at work",
        "my job",
        "work",
        "promotion",
        "being successful",
        "competence",
        "accomplishment",
        "professional success",
    ),
    "power": (
        "money",
        "wealth",
        "status",
        "prestige",
        "being rich",
        "influence",
        "control",
        "power",
        "earning more",
        "income",
        "salary",
    ),
    "security": (
        "safety",
        "stability",
        "financial security",
        "security",
        "being safe",
        "a stable life",
        "savings",
        "financial safety",
        "job security",
        "predictability",
        "certainty",
        "health and safety",
    ),
    "conformity": (
        "following the rules",
        "rules",
        "politeness",
        "obedience",
        "fitting in",
        "self-discipline",
        "not upsetting others",
        "good manners",
        "what others expect",
    ),
    "tradition": (
        "tradition",
        "traditions",
        "religion",
        "faith",
        "customs",
        "heritage",
        "my culture",
        "the way things have always been done",
        "humility",
    ),
    "benevolence": (
        "family",
        "my family",
        "friends",
        "my friends",
        "kindness",
        "generosity",
        "being generous",
        "helping others",
        "helpfulness",
        "forgiveness",
        "responsibility",
        "my loved ones",
        "the people close to me",
        "relationships",
        "caring for family",
        "children",
        "my children",
        "kids",
        "my kids",
        "my parents",
        "my partner",
        "my spouse",
    ),
    "universalism": (
        "the environment",
        "environment",
        "nature",
        "the planet",
        "climate",
        "sustainability",
        "social justice",
        "tolerance",
        "equality for all",
        "the welfare of all people",
        "peace",
        "protecting nature",
        "animals",
        "animal welfare",
        "the greater good",
    ),
    # Moral Foundations
    "care": (
        "compassion",
        "caring",
        "care",
        "kindness to the weak",
        "not harming anyone",
        "empathy",
        "protecting the vulnerable",
        "wellbeing of others",
    ),
    "equality": (
        "fairness",
        "equality",
        "not cheating",
        "being fair",
        "equal treatment",
        "justice",
        "reciprocity",
        "everyone getting the same",
    ),
    "loyalty": ("loyalty", "being loyal", "standing by my friends", "my team", "my group", "patriotism"),
    "authority": (
        "authority",
        "respect for authority",
        "respect",
        "obeying my parents",
        "my boss's wishes",
        "hierarchy",
        "duty",
        "order",
    ),
    "sanctity": ("purity", "sanctity", "decency", "dignity", "what is sacred", "cleanliness"),
    "liberty": (
        "liberty",
        "freedom",
        "personal freedom",
        "not being told what to do",
        "being free",
        "independence from control",
    ),
}


# how people describe themselves ("I'm not very ambitious", "I'm quite adventurous")
_ADJECTIVES: Mapping[str, tuple[str, ...]] = {
    "self_direction": ("independent", "creative", "curious"),
    "stimulation": ("adventurous", "daring", "spontaneous"),
    "hedonism": ("fun-loving", "easygoing"),
    "achievement": ("ambitious", "successful", "competitive", "hard-working"),
    "power": ("rich", "wealthy", "powerful", "influential"),
    "security": ("safe", "secure", "cautious", "careful", "stable"),
    "conformity": ("obedient", "polite", "disciplined"),
    "tradition": ("traditional", "religious", "devout", "humble"),
    "benevolence": ("generous", "kind", "helpful", "forgiving", "responsible", "family-oriented"),
    "universalism": ("green", "eco-friendly", "tolerant", "open-minded"),
    "care": ("caring", "compassionate", "gentle"),
    "equality": ("fair", "just"),
    "loyalty": ("loyal", "faithful", "patriotic"),
    "authority": ("respectful", "dutiful"),
    "sanctity": ("pure", "decent", "modest"),
    "liberty": ("free", "free-spirited"),
}


def words_for(name: str) -> tuple[str, ...]:
    """The everyday words for a value (empty for one with none listed)."""
    return (*VALUE_WORDS.get(name, ()), *_ADJECTIVES.get(name, ()))
