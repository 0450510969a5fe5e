"""Medians and ranges of the `align bench serve --json` reports in this folder, per series of runs.

Run from the repository root: `python docs/perf/serve-bench/medians.py [FOLDER]` (default
`runs/serve-bench`, where the reports of `align bench serve --json` are saved by series name). What it
printed for the measured series is in `summary.md` beside it.
"""

import json
import statistics
import sys
from pathlib import Path


def spread(values: list[float]) -> str:
    return f"{statistics.median(values):.3f} ({min(values):.3f}-{max(values):.3f}, n={len(values)})"


FIGURES = {
    "decisions/s through the server": lambda r: r["throughput_rps"],
    "backbone alone, decisions/s": lambda r: statistics.fmean(r["backbone_rps_before_after"]),
    "throughput_over_backbone": lambda r: r["throughput_over_backbone"],
    "backbone busy share": lambda r: r["backbone_busy_share"],
    "backbone slowdown": lambda r: r["backbone_slowdown"],
    "server CPU per decision, s": lambda r: r["server_cpu_per_decision_s"],
    "model CPU in the server per decision, s": lambda r: r.get("model_cpu_in_server_per_decision_s"),
    "backbone-alone CPU per decision, s": lambda r: r["backbone_cpu_per_decision_s"],
    "server other CPU per decision, ms": lambda r: (
        r["server_other_cpu_ms"] if r.get("model_cpu_in_server_per_decision_s") else None
    ),
    "server other CPU against the backbone alone, ms": lambda r: r.get(
        "server_other_cpu_vs_alone_ms", r["server_other_cpu_ms"]
    ),
    "no model: server CPU per request, ms": lambda r: r["no_model"]["server_cpu_per_request_ms"],
    "users' CPU per request, ms": lambda r: r["client_cpu_per_request_ms"],
    "decide p50, s": lambda r: r["latency"]["decide"]["p50_s"],
    "decide p95, s": lambda r: r["latency"]["decide"]["p95_s"],
    "peak RSS, MB": lambda r: r["peak_rss_mb"],
    "errors": lambda r: r["errors"],
    "load average at the end": lambda r: r["load_average_1min_end"],
}


SERIES = {
    # a machine shared with other work
    "n_threads 1 (shared machine)": "n_threads-1-run*.json",
    "n_threads 2, the default (shared machine)": "n_threads-2-run*.json",
    # another machine, nothing else running (docs/perf/serve-profile.md, "A quiet machine")
    "quiet: before the one model thread": "quiet-before-one-model-thread-run*.json",
    "quiet: one model thread": "quiet-n_threads-2-run*.json",
    "quiet: one model thread, GOMP_SPINCOUNT=3000": "quiet-gomp-spincount-3000-run*.json",
    "quiet: one model thread, the users' process at nice 10": "quiet-users-nice-10-run*.json",
    "quiet: one model thread, the server at nice 5 (trial)": "quiet-server-nice-5-trial-run*.json",
    "quiet: the default now (serve_nice 5)": "quiet-serve-nice-5-run*.json",
    "quiet: the same with serve_nice 0, interleaved": "quiet-serve-nice-0-run*.json",
}


def main() -> None:
    folder = Path(sys.argv[1] if len(sys.argv) > 1 else "runs/serve-bench")
    for series, pattern in SERIES.items():
        reports = [json.loads(p.read_text()) for p in sorted(folder.glob(pattern))]
        print(f"{series}: {len(reports)} runs")
        for name, figure in FIGURES.items():
            values = [v for v in (figure(r) for r in reports) if v is not None]
            if values:
                print(f"  {name}: {spread(values)}")


if __name__ == "__main__":
    main()
