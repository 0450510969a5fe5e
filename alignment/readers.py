"""Which reader follows a value best, as measured on the value's stored decisions (pure).

value-fit reads every value from embeddings (stored examples and the value's definition). For some
values the backbone's own ratings (``regression``: the model scores each option 0..10 after stored
examples) follow the stored decisions better: on triage, with the embedded 270M model, risk aversion
(docs/results/decider.md; utilitarianism's lead there, 6 decisions to 4, is what chance often
gives). A **reader record** holds, per value, stored scenario and target (high, low), whether each
reader chose as the value asks when that scenario was held out. A decision on a scenario reads a
value with the other reader only where, over the value's *other* scenarios, that reader was right
more often, by a lead that a sign test finds unlikely by chance (p < 0.05); a value with too few
measured decisions, or none (a value an admin just created), stays with value-fit.

Each measured decision keeps the **domain** of its stored scenario (triage, everyday, ...): a reader
chosen on one domain's decisions reads the value only for decisions of that domain. A decision whose
domain is not known (``None``, or ``generic``) is read with a record measured on generic scenarios
only, never with one from a specific domain. A record written before domains were kept was measured
on triage (``LEGACY_DOMAIN``), and is read so.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from alignment.justify import explain_fit
from alignment.models import AlignmentTarget, ChoiceScore, Decision, readable_name

__all__ = [
    "ALTERNATIVE_READER",
    "DEFAULT_READER",
    "GENERIC_DOMAIN",
    "LEGACY_DOMAIN",
    "SIGNIFICANCE",
    "ReaderOutcome",
    "ReaderRecord",
    "ReaderTally",
    "combine_readers",
    "decision_domain",
    "preferred_readers",
    "record_from_results",
    "sign_test",
    "tally",
]

DEFAULT_READER = "value-fit"
ALTERNATIVE_READER = "regression"
# the other reader takes a value over only where its lead is this unlikely when neither reader is
# better (a one-sided sign test over the decisions exactly one of them got right; the usual level)
SIGNIFICANCE = 0.05
# the domain of a decision nobody named (as a stored example's, alignment/datasets.py)
GENERIC_DOMAIN = "generic"
# the domain of every outcome of a record written before outcomes kept theirs: the record seeded
# then (datasets/readers.json) and any learnt from it were measured on triage
LEGACY_DOMAIN = "triage"


def decision_domain(domain: str | None) -> str:
    """The domain a decision is read in: its own, or generic when nobody named one."""
    return (domain or "").strip() or GENERIC_DOMAIN


class ReaderOutcome(BaseModel):
    """One measured decision of a stored scenario (held out): which readers chose as the value asks."""

    model_config = ConfigDict(frozen=True)

    attribute: str = Field(min_length=1)
    scenario_id: str = Field(min_length=1)
    direction: str = Field(min_length=1)
    right: dict[str, bool]
    # the domain of the stored scenario (its examples' domain); missing in an old record: triage
    domain: str = Field(default=LEGACY_DOMAIN, min_length=1)


class ReaderRecord(BaseModel):
    """Measured decisions of the readers, for the backbone the alternative reader ran on."""

    model_config = ConfigDict(frozen=True)

    backbone: str = Field(min_length=1)
    outcomes: list[ReaderOutcome] = Field(default_factory=list)

    def attributes(self) -> list[str]:
        return sorted({o.attribute for o in self.outcomes})

    def measured(self) -> list[tuple[str, str]]:
        """(value, domain) pairs the record has decisions for."""
        return sorted({(o.attribute, o.domain) for o in self.outcomes})


class ReaderTally(BaseModel):
    """A value's record over the decisions that count for one decision."""

    attribute: str
    domain: str = LEGACY_DOMAIN  # the domain these decisions were measured on
    decisions: int
    right: dict[str, int]
    only_alternative: int  # decisions only the alternative reader got right
    only_default: int
    p_value: float  # one-sided sign test: the alternative is no better than the default

    def better(self) -> bool:
        return self.only_alternative > self.only_default and self.p_value < SIGNIFICANCE


def sign_test(wins: int, losses: int) -> float:
    """P(at least ``wins`` of ``wins + losses`` fair coin tosses): how likely a lead this large is
    when neither reader is better."""
    n = wins + losses
    if n == 0:
        return 1.0
    return sum(math.comb(n, k) for k in range(wins, n + 1)) / 2**n


def tally(
    record: ReaderRecord, attribute: str, exclude_scenario: str | None = None, domain: str = LEGACY_DOMAIN
) -> ReaderTally:
    """The value's decisions in the record measured on ``domain``, its scenario ``exclude_scenario``
    left out."""
    rows = [
        o
        for o in record.outcomes
        if o.attribute == attribute
        and o.domain == domain
        and o.scenario_id != exclude_scenario
        and DEFAULT_READER in o.right
        and ALTERNATIVE_READER in o.right
    ]
    alt = sum(1 for o in rows if o.right[ALTERNATIVE_READER] and not o.right[DEFAULT_READER])
    dflt = sum(1 for o in rows if o.right[DEFAULT_READER] and not o.right[ALTERNATIVE_READER])
    return ReaderTally(
        attribute=attribute,
        domain=domain,
        decisions=len(rows),
        right={r: sum(1 for o in rows if o.right[r]) for r in (DEFAULT_READER, ALTERNATIVE_READER)},
        only_alternative=alt,
        only_default=dflt,
        p_value=sign_test(alt, dflt),
    )


def record_from_results(
    rows: Iterable[Mapping[str, Any]], backbone: str, domain: str | None = None
) -> ReaderRecord:
    """A record from ``align eval`` results (results.jsonl rows) of ``--algorithm value-fit,regression``
    on the same items. value-fit named as an algorithm reads every value itself (the default decider,
    which also uses the record, is left out, as are other algorithms, errors and items only one
    reader answered). Each outcome keeps its item's domain: the row's own (results written since
    rows carry it), else ``domain``; a row with neither is an error (a reader must not be used in a
    domain it was not measured on)."""
    right: dict[tuple[str, str, str], dict[str, bool]] = defaultdict(dict)
    domains: dict[tuple[str, str, str], str] = {}
    for row in rows:
        reader = str(row.get("algorithm"))
        if (
            reader not in (DEFAULT_READER, ALTERNATIVE_READER)
            or row.get("decider")
            or row.get("choice_index") is None
        ):
            continue
        if row.get("direction") == "group" or (
            reader == ALTERNATIVE_READER and row.get("backbone") != backbone
        ):
            continue
        source, attribute, direction = str(row["source"]), str(row["attribute"]), str(row["direction"])
        item = str(row["item_id"])
        head, tail = f"{source}:", f":{attribute}:{direction}"
        if not (item.startswith(head) and item.endswith(tail)):
            raise ValueError(f"result {item!r}: its id does not name its file, attribute and direction")
        where = str(row.get("domain") or domain or "")
        if not where:
            raise ValueError(
                f"result {item!r} does not say which domain its item is from (triage, everyday, ...); "
                "name the domain these results were measured on"
            )
        key = (attribute, item[len(head) : -len(tail)], direction)
        right[key][reader] = bool(row.get("correct"))
        domains[key] = where
    outcomes = [
        ReaderOutcome(attribute=a, scenario_id=s, direction=d, right=r, domain=domains[(a, s, d)])
        for (a, s, d), r in sorted(right.items())
        if len(r) == 2
    ]
    return ReaderRecord(backbone=backbone, outcomes=outcomes)


def preferred_readers(
    record: ReaderRecord,
    attributes: Sequence[str],
    exclude_scenario: str | None = None,
    domain: str | None = None,
) -> dict[str, ReaderTally]:
    """The target's values that the alternative reader follows better on the decision's ``domain``,
    each with its tally over the value's stored scenarios of that domain other than
    ``exclude_scenario`` (the decision's own). Decisions measured on another domain never count:
    a decision of no named domain is read only with what was measured on generic scenarios."""
    where = decision_domain(domain)
    out = {}
    for attribute in attributes:
        t = tally(record, attribute, exclude_scenario, domain=where)
        if t.better():
            out[attribute] = t
    return out


def _reader_note(target: AlignmentTarget, tallies: Mapping[str, ReaderTally]) -> str:
    parts = []
    for a, t in tallies.items():
        name = readable_name(target.attribute(a).name)
        parts.append(
            f"{name[:1].upper() + name[1:]} was rated by the language model, with stored examples: on this "
            f"value's stored {t.domain} decisions it chose as the value asks {t.right[ALTERNATIVE_READER]} "
            f"times in {t.decisions}, the estimate from examples and definitions {t.right[DEFAULT_READER]} "
            "times."
        )
    return " ".join(parts)


def combine_readers(
    base: Decision, rated: Decision, target: AlignmentTarget, tallies: Mapping[str, ReaderTally]
) -> Decision:
    """value-fit's decision ``base`` with the values of ``tallies`` read from ``rated`` (the
    alternative reader's decision on the same options): each such value's term of an option's
    distance is replaced by the rated estimate's, value-fit's other terms and penalties stay."""
    names = list(target.values)
    n = len(base.scores)
    if len(rated.scores) != n:
        raise ValueError("the two readers' decisions are about different options")
    if "distances" not in base.extra:
        raise ValueError("the base decision carries no distances (it is not value-fit's)")
    distances = [float(d) for d in base.extra["distances"]]
    estimates: list[dict[str, float]] = []
    for i in range(n):
        own = dict(base.scores[i].attributes)
        for a in tallies:
            new = float(rated.scores[i].attributes[a])
            distances[i] += abs(new - target.values[a]) - abs(own.get(a, new) - target.values[a])
            own[a] = new
        estimates.append(own)
    winner = min(range(n), key=lambda i: (distances[i], i))
    fits = [max(0.0, 1.0 - d / len(names)) for d in distances]
    choices = [s.choice for s in base.scores]
    vf_basis = str(base.extra.get("basis", "")) if set(names) - set(tallies) else ""
    basis = " ".join(x for x in (_reader_note(target, tallies), vf_basis) if x)
    return base.model_copy(
        update={
            "choice_index": winner,
            "choice": choices[winner],
            "justification": explain_fit(target, choices, estimates, winner, fits, basis=basis),
            "scores": [
                ChoiceScore(index=i, choice=c, score=fits[i], attributes=estimates[i])
                for i, c in enumerate(choices)
            ],
            "backbone": rated.backbone,
            "prompts": rated.prompts,
            "usage": rated.usage,
            "examples": list(base.examples) if vf_basis else list(rated.examples),
            "timings": {
                **base.timings,
                **{f"rated_{k}": v for k, v in rated.timings.items()},
                "total_s": base.timings.get("total_s", 0.0) + rated.timings.get("total_s", 0.0),
            },
            "extra": {
                **base.extra,
                "distances": distances,
                "readers": {a: ALTERNATIVE_READER for a in tallies},
                "reader_record": {a: t.model_dump() for a, t in tallies.items()},
            },
        }
    )
