"""Evaluation outputs: summary.json, summary.md and a PNG chart of accuracy with CI bars."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from alignment.evaluation import BASELINES, POPULATION, summary_markdown

__all__ = ["write_chart", "write_reports"]


def write_chart(summary: dict[str, Any], path: Path) -> None:
    """Bar chart: overall accuracy per algorithm (x backbone) with 95% CI error bars."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    runs = [r for r in summary["runs"] if r["overall"]["n"]]
    labels = [f"{r['algorithm']}\n{r['backbone']}" for r in runs]
    means = [r["overall"]["accuracy"]["mean"] for r in runs]
    lows = [m - r["overall"]["accuracy"]["low"] for m, r in zip(means, runs, strict=True)]
    highs = [r["overall"]["accuracy"]["high"] - m for m, r in zip(means, runs, strict=True)]
    colours = ["#9e9e9e" if r["algorithm"] in (*BASELINES, POPULATION) else "#1f77b4" for r in runs]
    fig, ax = plt.subplots(figsize=(max(4.0, 1.3 * len(runs) + 1), 4))
    ax.bar(range(len(runs)), means, yerr=[lows, highs], capsize=4, color=colours)
    ax.set_xticks(range(len(runs)), labels, fontsize=8)
    ax.set_ylim(0, 1)
    ax.set_ylabel("alignment accuracy (95% CI)")
    ax.set_title("Alignment accuracy per algorithm (grey: baselines)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_reports(summary: dict[str, Any], out: Path) -> dict[str, Path]:
    paths = {"json": out / "summary.json", "md": out / "summary.md", "png": out / "accuracy.png"}
    paths["json"].write_text(json.dumps(summary, indent=2))
    paths["md"].write_text(summary_markdown(summary))
    write_chart(summary, paths["png"])
    return paths
