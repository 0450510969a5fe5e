"""A decision told as advice (pure): the verdict, a few plain sentences, then the details.

The main text names the options in the person's words, the values that decided it and what the
other option had going for it; it has no decimals, ids or method names (at most ``MAX_WORDS``
words). Estimates, confidence, the most similar stored decision and how it was decided go in a
collapsible ``<details>`` block (rendered by Gradio's chatbot and by chat apps such as Open WebUI),
written as valid CommonMark: blank lines around the block's Markdown, no ``&nbsp;``.

Follow-ups: ``why`` adds what the first answer did not say (what the deciding value means, the
strongest point for the other option, the most similar stored decision and what was chosen
there); ``why_not`` is about the option asked.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from alignment.examples import closest_choice
from alignment.justify import CLOSE_CALL, describe_level, level_band
from alignment.models import Decision, readable_name

__all__ = [
    "MAX_WORDS",
    "Reading",
    "ValueText",
    "advice",
    "amount",
    "details",
    "quote",
    "read_decision",
    "why_not_text",
    "why_text",
]

MAX_WORDS = 120  # the main text's limit


@dataclass
class ValueText:
    """How values are called: ``titles`` (name -> label), ``meanings`` (name -> description) and
    ``said`` (name -> the person's own words for it)."""

    titles: Mapping[str, str] = field(default_factory=dict)
    meanings: Mapping[str, str] = field(default_factory=dict)
    said: Mapping[str, str] = field(default_factory=dict)

    def title(self, name: str) -> str:
        return self.titles.get(name) or readable_name(name)

    def called(self, name: str) -> str:
        """**Title** (with the person's words when they differ)."""
        title = self.title(name)
        words = self.said.get(name, "")
        if words and words.casefold() not in title.casefold():
            return f'**{title}** ("{words}")'
        return f"**{title}**"


@dataclass
class Reading:
    """What a decision's estimates say: the winner, the runner-up, the values that favour the
    winner (strongest first) and those that favour the runner-up, and whether it was close."""

    winner: int
    runner: int | None
    decisive: list[str]
    against: list[str]
    close: bool


def quote(option: str) -> str:
    """An option as the person wrote it, in quotes, without Markdown that could break the text."""
    text = " ".join(option.split()).strip().rstrip(".")
    text = re.sub(r"[*_`<>\[\]]", "", text)
    if len(text) > 90:
        text = text[:89].rstrip() + "…"
    return f"“{text}”"


def amount(value: float) -> str:
    """How much a target value matters, in words."""
    return ("hardly at all", "only a little", "somewhat", "a lot", "a great deal")[level_band(value)]


def read_decision(decision: Decision) -> Reading:
    scores = decision.scores
    winner = decision.choice_index
    fits = [s.score for s in scores]
    others = [i for i in range(len(scores)) if i != winner]
    if not others:
        return Reading(winner, None, [], [], False)
    if all(f is not None for f in fits):
        runner = max(others, key=lambda i: (fits[i] or 0.0, -i))
    else:
        runner = others[0]
    target = decision.target
    w, r = scores[winner].attributes, scores[runner].attributes
    pull: dict[str, float] = {}
    for name, t in target.items():
        if name in w and name in r:
            pull[name] = abs(r[name] - t) - abs(w[name] - t)  # > 0: the winner is nearer the target
    decisive = sorted((n for n in pull if pull[n] > 0.01), key=lambda n: -pull[n])
    against = sorted((n for n in pull if pull[n] < -0.01), key=lambda n: pull[n])
    gap = (
        (fits[winner] or 0.0) - (fits[runner] or 0.0)
        if fits[winner] is not None and fits[runner] is not None
        else 1.0
    )
    close = bool(pull) and gap < CLOSE_CALL
    return Reading(winner, runner, decisive, against, close)


def _options_sentence(decision: Decision) -> str:
    names = [quote(s.choice) for s in decision.scores]
    listed = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
    return f"You are choosing between {listed}."


def _leans(decision: Decision, name: str, option: int) -> str:
    """'does more for it' or 'asks less of it' by the option's estimate against the others'."""
    mine = decision.scores[option].attributes.get(name, 0.5)
    rest = [s.attributes.get(name, 0.5) for s in decision.scores if s.index != option]
    return "does more for it" if mine >= max(rest, default=0.5) else "asks less of it"


def _plain(text: str, limit: int = 45) -> str:
    """A model's own sentence for the main text: no decimals, at most ``limit`` words."""
    text = re.sub(r"\d+\.\d+", "", " ".join(text.split()))
    sentences = re.split(r"(?<=[.!?])\s+", text)
    out: list[str] = []
    for s in sentences:
        if len(" ".join([*out, s]).split()) > limit:
            break
        out.append(s)
    said = " ".join(out) if out else " ".join(text.split()[:limit]) + "…"
    return said[:1].upper() + said[1:]


def advice(
    decision: Decision, values: ValueText | None = None, *, name_options: bool = True
) -> tuple[str, str, str]:
    """(verdict, the plain sentences, the details block). ``name_options``: say which options
    there were (a second answer on the same options need not)."""
    values = values or ValueText()
    reading = read_decision(decision)
    chosen = quote(decision.choice)
    verdict = f"**My advice: {_upper_first(chosen[1:-1])}.**"
    sentences = [_options_sentence(decision)] if name_options else []
    target = decision.target
    if reading.decisive and reading.runner is not None:
        top = reading.decisive[:2]
        levels = [amount(target[n]) for n in top]
        if len(top) == 1 or levels[0] == levels[1]:
            verb = "matters" if len(top) == 1 else "matter"
            named = f"{' and '.join(values.called(n) for n in top)}, which {verb} {levels[0]} to you"
        else:
            named = " and ".join(
                f"{values.called(n)}, which matters {level} to you"
                for n, level in zip(top, levels, strict=True)
            )
        how = _leans(decision, top[0], reading.winner)
        other = quote(decision.scores[reading.runner].choice)
        sentences.append(f"What decides it is {named}: {chosen} {how} than {other}.")
        if reading.against:
            a = reading.against[0]
            sentences.append(
                f"The trade-off: {other} is better for {values.called(a)}, "
                f"which matters {amount(target[a])} to you."
            )
        else:
            direction = "less" if target[top[0]] >= 0.5 else "more"
            sentences.append(
                f"{other} would come out ahead if {values.called(top[0])} mattered {direction} to you."
            )
    elif target and reading.runner is not None and all(s.attributes for s in decision.scores):
        named = ", ".join(values.called(n) for n in list(target)[:3])
        sentences.append(f"On what you value ({named}) the options stand almost level.")
    elif decision.justification.strip() and not re.search(r"\d\.\d", decision.justification):
        sentences.append(_plain(decision.justification))
    if reading.close:
        sentences.append("It is a close call, so take it as a slight preference.")
    main = " ".join(sentences)
    while len((verdict + " " + main).split()) > MAX_WORDS - 25 and len(sentences) > 1:
        sentences.pop()
        main = " ".join(sentences)
    return verdict, main, details(decision, values, reading)


def _pct(value: float) -> str:
    return f"{round(100 * value)}"


def details(decision: Decision, values: ValueText, reading: Reading | None = None) -> str:
    """The collapsible block: estimates, confidence, the stored example, how it was decided."""
    reading = reading or read_decision(decision)
    lines: list[str] = []
    target = decision.target
    if target:
        wanted = ", ".join(f"{values.title(n)} {_pct(v)} ({describe_level(v)})" for n, v in target.items())
        lines.append(f"**Your values** (0 = not at all, 100 = very much): {wanted}.")
    rows = []
    for s in decision.scores:
        marks = ", ".join(f"{values.title(n)} {_pct(v)}" for n, v in s.attributes.items() if n in target)
        mark = " (my advice)" if s.index == decision.choice_index else ""
        if marks:
            rows.append(f"- {quote(s.choice)}{mark}: {marks}")
        elif s.reasoning:
            rows.append(f"- {quote(s.choice)}{mark}: {_plain(s.reasoning, 40)}")
    if rows:
        lines.append("**How each option stands on them** (estimated, 0 to 100):\n\n" + "\n".join(rows))
    if reading.runner is not None and any(s.score is not None for s in decision.scores):
        confidence = (
            "a close call: the options stand almost the same on your values"
            if reading.close
            else "clear: one option stands clearly nearer your values"
        )
        if decision.confidence is not None:
            confidence += (
                f"; {_pct(decision.confidence)} in 100 that this is the option your values ask for "
                "(from how far apart the options stand, whether the ways of reading them agree, and the "
                "stored decisions behind them)"
            )
        lines.append(f"**Confidence:** {confidence}.")
    example = _example_sentence(decision, values)
    if example:
        lines.append(example)
    method = readable_name(decision.algorithm).replace("-", " ")
    backbone = "" if decision.backbone in ("none", "") else f" with the model {decision.backbone}"
    lines.append(f"**How it was decided:** the {method} method{backbone}.")
    body = "\n\n".join(lines)
    # "<details>" and "</summary>" each end their line: Open WebUI folds the block only then
    return f"<details>\n<summary>Details</summary>\n\n{body}\n\n</details>"


def _example_sentence(decision: Decision, values: ValueText) -> str:
    if not decision.examples:
        return ""
    example = decision.examples[0]
    answer = (
        closest_choice(example.scores, decision.target)
        if decision.target and example.scores
        else example.chosen
    )
    text = " ".join(example.text.split())
    if len(text) > 140:
        text = text[:139].rstrip() + "…"
    text = re.sub(r"[*_`<>]", "", text)
    if answer is None or not 0 <= answer < len(example.choices):
        return f'**Most similar stored decision:** "{text}"'
    return (
        f'**Most similar stored decision:** "{text}" There, a person with values like yours chose '
        f"{quote(example.choices[answer])}."
    )


def why_text(decision: Decision, values: ValueText, asked: int = 1) -> str:
    """The answer to "why?": what the first answer did not say. Asked again (``asked`` > 1): how
    each option stands on each value, in words, and how sure the advice is."""
    if asked > 1 and decision.target and all(s.attributes for s in decision.scores):
        return _standing(decision, values)
    reading = read_decision(decision)
    chosen = quote(decision.choice)
    parts: list[str] = []
    if reading.decisive:
        top = reading.decisive[0]
        meaning = _clip(values.meanings.get(top, "").strip().rstrip("."), 25)
        level = describe_level(decision.target[top])
        head = f"I chose {chosen} mainly because of {values.called(top)}, which you set {level}"
        parts.append(f"{head}. It means: {_lower_first(meaning)}." if meaning else f"{head}.")
        if len(reading.decisive) > 1:
            parts.append(f"{values.called(reading.decisive[1])} pointed the same way.")
    elif decision.justification.strip():
        parts.append(f"I chose {chosen}. {_plain(decision.justification, 50)}")
    if reading.runner is not None:
        other = quote(decision.scores[reading.runner].choice)
        if reading.against:
            a = reading.against[0]
            parts.append(
                f"The strongest point for {other}: it is better for {values.called(a)}, but that matters "
                f"{amount(decision.target[a])} to you."
            )
        elif reading.decisive:
            top = reading.decisive[0]
            direction = "less" if decision.target[top] >= 0.5 else "more"
            parts.append(
                f"Nothing you value favours {other}; it would win only if {values.called(top)} mattered "
                f"{direction} to you."
            )
        elif decision.scores[reading.runner].reasoning:
            parts.append(f"About {other}: {_plain(decision.scores[reading.runner].reasoning or '', 30)}")
    example = _example_sentence(decision, values).replace("**Most similar stored decision:** ", "")
    if example:
        parts.append(f"The most similar decision I know: {example}")
    elif asked > 1:
        parts.append("I know no stored decision similar enough to compare with.")
    return _cap(" ".join(parts) or f"I chose {chosen}.")


def _standing(decision: Decision, values: ValueText) -> str:
    reading = read_decision(decision)
    parts = []
    for name, t in list(decision.target.items())[:3]:
        stands = ", ".join(
            f"{quote(s.choice)} {describe_level(s.attributes[name])}"
            for s in decision.scores
            if name in s.attributes
        )
        parts.append(f"On {values.called(name)}, which you set {describe_level(t)}: {stands}.")
    parts.append(
        "The options stand almost level, so the advice is a slight preference."
        if reading.close
        else f"{quote(decision.choice)} is clearly the nearer to what you value."
    )
    return _cap("To put it another way: " + " ".join(parts))


def why_not_text(decision: Decision, option: int, values: ValueText) -> str:
    """The answer to "why not X?", about X."""
    if not 0 <= option < len(decision.scores):
        return f"There is no option ({chr(65 + option)}) in my last answer."
    asked = quote(decision.scores[option].choice)
    chosen = quote(decision.choice)
    if option == decision.choice_index:
        reading = read_decision(decision)
        if reading.decisive:
            top = reading.decisive[0]
            return (
                f"{asked} is the option I recommended: it fits {values.called(top)} best, which matters "
                f"{amount(decision.target[top])} to you."
            )
        return f"{asked} is the option I recommended."
    target = decision.target
    mine, theirs = decision.scores[option].attributes, decision.scores[decision.choice_index].attributes
    pull = {n: abs(mine[n] - t) - abs(theirs[n] - t) for n, t in target.items() if n in mine and n in theirs}
    worse = sorted((n for n in pull if pull[n] > 0.01), key=lambda n: -pull[n])
    better = sorted((n for n in pull if pull[n] < -0.01), key=lambda n: pull[n])
    parts: list[str] = []
    if worse:
        n = worse[0]
        way = "does less for it" if mine[n] < theirs[n] else "asks more of it"
        levels = (describe_level(mine[n]), describe_level(theirs[n]))
        compared = f" ({levels[0]} against {levels[1]})" if levels[0] != levels[1] else ""
        parts.append(
            f"I did not pick {asked} because of {values.called(n)}, "
            f"which matters {amount(target[n])} to you: {asked} {way} than {chosen}{compared}."
        )
        if better:
            parts.append(
                f"{asked} does have {values.called(better[0])} going for it, but that matters "
                f"{amount(target[better[0]])} to you."
            )
        direction = "less" if target[n] >= 0.5 else "more"
        parts.append(f"It would come out ahead if {values.called(n)} mattered {direction} to you.")
    else:
        parts.append(f"I did not pick {asked}; I recommended {chosen}.")
        reasoning = decision.scores[option].reasoning
        if reasoning:
            parts.append(f"About {asked}: {_plain(reasoning, 40)}")
        elif decision.justification.strip() and not re.search(r"\d\.\d", decision.justification):
            parts.append(f"Why {chosen}: {_plain(decision.justification, 40)}")
    return _cap(" ".join(parts))


def _clip(text: str, words: int) -> str:
    """At most ``words`` words of ``text``, cut at a clause when it has to be cut."""
    split = text.split()
    if len(split) <= words:
        return text
    cut = " ".join(split[:words])
    at = max(cut.rfind(","), cut.rfind(";"), cut.rfind(":"))
    return (cut[:at] if at > len(cut) // 2 else cut).rstrip(" ,;:") + "…"


def _cap(text: str, words: int = MAX_WORDS) -> str:
    """The text without its last sentences while it has more than ``words`` words."""
    sentences = re.split(r"(?<=[.!?”])\s+(?=[A-Z“\"*])", text)
    while len(" ".join(sentences).split()) > words and len(sentences) > 1:
        sentences.pop()
    return " ".join(sentences)


def _upper_first(text: str) -> str:
    return text[:1].upper() + text[1:] if text else text


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:] if text else text
