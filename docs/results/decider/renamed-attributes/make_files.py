"""Write datasets/triage with its attributes renamed the way align-system names them (CamelCase,
``MoralDesert``), so that none has a stored definition: the case of a triage file whose attributes
are in no pack. Usage, from the repository root:

    python docs/results/decider/renamed-attributes/make_files.py runs/renamed-triage
    align eval --data runs/renamed-triage --holdout attribute --skip-baseline unaligned --out runs/renamed
"""

import json
import sys
from pathlib import Path

RENAME = {
    "moral_deservingness": "MoralDesert",
    "risk_aversion": "RiskAversion",
    "continuation_of_care": "ContinuationOfCare",
    "protocol_focus": "ProtocolFocus",
    "utilitarianism": "Utilitarianism",
    "fairness": "Fairness",
    "Moral judgement": "MoralJudgement",
}


def renamed(scores: dict[str, float]) -> dict[str, float]:
    return {RENAME.get(k, k): v for k, v in scores.items()}


def main(out: str) -> None:
    target = Path(out)
    target.mkdir(parents=True, exist_ok=True)
    for path in sorted(Path("datasets/triage").glob("*.json")):
        records = json.loads(path.read_text(encoding="utf-8"))
        for record in records:
            for choice in record["input"]["choices"]:
                choice["kdma_association"] = renamed(choice.get("kdma_association") or {})
            if isinstance(record.get("label"), list):
                record["label"] = [renamed(label) for label in record["label"]]
        (target / path.name).write_text(json.dumps(records), encoding="utf-8")


if __name__ == "__main__":
    main(sys.argv[1])
