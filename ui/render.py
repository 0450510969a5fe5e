"""HTML and text views of the facade's answers (pure functions of its reply models)."""

from __future__ import annotations

import html
from typing import Any

from alignment.models import Decision
from assistant.app.replies import CompareReply

__all__ = ["comparison_html", "parse_assignments", "profile_key", "split_profile_key"]

_LABELS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def _esc(value: Any) -> str:
    return html.escape(str(value))


def _scores(decision: Decision) -> str:
    rows = []
    for s in decision.scores:
        chosen = s.index == decision.choice_index
        score = "-" if s.score is None else f"{s.score:.3f}"
        attrs = ", ".join(f"{k} {v:.2f}" for k, v in (s.attributes or {}).items())
        weight = "font-weight:bold;" if chosen else ""
        rows.append(
            f"<li style='{weight}'>({_LABELS[s.index]}) {_esc(s.choice)}: {score}"
            + (f" <small>[{_esc(attrs)}]</small>" if attrs else "")
            + "</li>"
        )
    return "<ul style='margin:0;padding-left:1.2em'>" + "".join(rows) + "</ul>"


def comparison_html(reply: CompareReply) -> str:
    """One column per run; a column whose choice differs from the majority gets a red border."""
    result = reply.comparison
    cells = []
    for i, r in enumerate(result.results):
        border = "3px solid #d62728" if r.disagrees else "1px solid #999"
        badge = (
            "<span class='disagrees' style='background:#d62728;color:white;padding:1px 6px;"
            "border-radius:8px;font-size:0.8em'>disagrees</span> "
            if r.disagrees
            else ""
        )
        d = r.decision
        if d is None:
            body = f"<p class='column-error' style='color:#d62728'>Failed: {_esc(r.error)}</p>"
        else:
            t, u = d.timings, d.usage
            target = ", ".join(f"{k} {v:.2f}" for k, v in d.target.items()) or "none"
            body = (
                f"<p class='column-choice'><b>({_LABELS[d.choice_index]}) {_esc(d.choice)}</b></p>"
                f"<p><b>Why:</b> {_esc(d.justification)}</p>"
                f"{_scores(d)}"
                f"<p><small>target: {_esc(target)}<br>"
                f"time {t.get('total_s', 0.0):.2f} s · tokens {u.prompt_tokens} in / "
                f"{u.completion_tokens} out · {u.calls} calls</small></p>"
            )
        cells.append(
            f"<td class='compare-column' data-column='{i + 1}' data-disagrees='{str(r.disagrees).lower()}' "
            f"style='vertical-align:top;border:{border};padding:8px;min-width:180px'>"
            f"<div>{badge}<b>{i + 1}. {_esc(r.label)}</b></div>{body}</td>"
        )
    if result.agreement:
        summary = f"All columns agree: <b>{_esc(result.majority_choice)}</b>."
    else:
        summary = (
            f"The columns disagree (majority: <b>{_esc(result.majority_choice)}</b>); "
            "the columns that differ have a red border."
        )
    return (
        f"<div id='comparison'><p>{summary} ({reply.seconds:.1f} s)</p>"
        "<div style='overflow-x:auto'><table style='border-collapse:separate;border-spacing:6px'><tr>"
        + "".join(cells)
        + "</tr></table></div></div>"
    )


def parse_assignments(text: str) -> dict[str, str]:
    """``NAME=VALUE`` items separated by commas or new lines (blank ones ignored)."""
    out: dict[str, str] = {}
    for item in text.replace(",", "\n").splitlines():
        item = item.strip()
        if not item:
            continue
        name, eq, value = item.partition("=")
        if not eq or not name.strip() or not value.strip():
            raise ValueError(f"{item!r}: write it as NAME=VALUE")
        out[name.strip()] = value.strip()
    return out


def profile_key(owner: str, name: str) -> str:
    """A profile's dropdown value; user names never hold '/', so the first '/' splits it."""
    return f"{owner}/{name}"


def split_profile_key(key: str) -> tuple[str, str]:
    owner, _, name = key.partition("/")
    return owner, name
