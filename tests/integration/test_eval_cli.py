"""``align eval`` on OpinionQA from the command line: split, holdout, population, distinctive, bias."""

import json

from tests.helpers.cli import align_json, run_align
from tests.helpers.paths import REPO


def test_eval_dev_split_group_holdout(tmp_path):
    out = tmp_path / "run"
    env = {"ALIGN_DATA_DIR": str(tmp_path / "data")}
    args = ["eval", "--data", "datasets/opinionqa", "--split", "dev", "--holdout", "group"]
    args += ["--algorithm", "random", "--limit", "2", "--out", str(out), "--no-progress", "--json"]
    printed = align_json(args, cwd=REPO, env=env, timeout=900)
    summary = json.loads((out / "summary.json").read_text())
    assert printed == summary
    runs = {r["algorithm"]: r for r in summary["runs"]}
    assert set(runs) == {"unaligned", "random", "population"}
    # the dev half: the 1st, 3rd, ... of the 11 group files sorted by name, 2 records each
    assert summary["split"]["name"] == "dev" and "sorted by name" in summary["split"]["rule"]
    assert len(summary["files"]) == 6 and all(f.startswith("datasets/opinionqa/") for f in summary["files"])
    assert summary["config"]["holdout"] == "group" and summary["items"] == 12
    # population baseline, distinctive items, positional bias
    assert summary["opinionqa"]["items"] == 12
    assert summary["population_missing"] == summary["opinionqa"]["population_missing"]
    assert runs["population"]["overall"]["n"] == 12 and runs["population"]["backbone"] == "none"
    for run in runs.values():
        assert set(run["per_subset"]) == {"all", "distinctive"}
        assert run["per_subset"]["all"]["accuracy"]["n"] == 12
        assert run["per_subset"]["distinctive"]["accuracy"]["n"] == summary["opinionqa"]["distinctive"]
        bias = run["position_bias"]
        assert sum(bias["two_option_counts"]) == bias["two_option_n"]
        assert bias["most_frequent_share"] is None or 0.5 <= bias["most_frequent_share"] <= 1.0
    assert runs["random"]["position_bias"]["n"] == 12
    md = (out / "summary.md").read_text()
    assert "holdout: `group`" in md and "distinctive items" in md and "Positional bias" in md
    # relative paths only: nothing of this machine's directories
    text = (out / "summary.json").read_text() + md
    assert str(tmp_path) not in text and str(REPO) not in text and "/root" not in text
    assert {json.loads(line)["holdout"] for line in (out / "results.jsonl").read_text().splitlines()} == {
        "group"
    }

    # a resume with another holdout is refused, in one clear line
    again = [a if a != "group" else "attribute" for a in args] + ["--resume"]
    refused = run_align(again, cwd=REPO, env=env)
    assert (
        refused.returncode == 2 and "--holdout group" in refused.stderr and "Traceback" not in refused.stderr
    )
