"""Zero-shot readers of a value from its definition alone, on the embedded models: is 0.72 a ceiling?

Run from the repository root: ``.venv/bin/python docs/results/decider/ceilings/zero_shot_probes.py``
(add ``--gemma`` for the Gemma 3 270M yes/no probe, about 4 minutes on 2 cores; ``--embedder DIR`` reads
with another sentence-transformers model, such as all-mpnet-base-v2: see the README beside this file).

Each probe scores every option of a record from the value's definition only (no stored example):
the option picked for a high target is the highest-scored, for a low target the lowest. Accuracy
counts the pick right when it is among the options with the best score for the target, as
``align eval`` does. Sets: ``everyday_novel`` (10 values in no pack, the everyday development
file, 50 record-values x 2 targets), ``everyday_packs`` (the 16 pack values, 80 x 2) and the six
NAACL triage files (``naacl``: 106 x 2; ADEPT and SoarTech are left out, their menus carry
options that no value scores). Definitions: ``profiles/seeds/*.json`` and
``tests/fixtures/novel_attributes.json``.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np

from assistant.stores.embedding import MiniLMEmbedder

DATA = Path("datasets")
Item = dict  # {"state", "choices", "attr", "values"}

_embedder = MiniLMEmbedder(
    sys.argv[sys.argv.index("--embedder") + 1] if "--embedder" in sys.argv else None, query_threads=None
)
_cache: dict[str, np.ndarray] = {}


def emb(texts: list[str]) -> np.ndarray:
    new = [t for t in dict.fromkeys(texts) if t not in _cache]
    for text, vector in zip(new, _embedder.embed(new), strict=True):
        _cache[text] = np.array(vector)
    return np.array([_cache[t] for t in texts])


def definitions() -> dict[str, dict]:
    out = {}
    for path in sorted(Path("profiles/seeds").glob("*.json")):
        out.update({a["name"]: a for a in json.loads(path.read_text()).get("attributes", [])})
    out.update({a["name"]: a for a in json.loads(Path("tests/fixtures/novel_attributes.json").read_text())})
    return out


def records(path: Path) -> list[Item]:
    out = []
    for record in json.loads(path.read_text()):
        inp = record["input"]
        scores = [c.get("kdma_association") or {} for c in inp["choices"]]
        for attr in sorted({a for s in scores for a in s}):
            out.append(
                {
                    "state": inp["state"],
                    "choices": [c["unstructured"] for c in inp["choices"]],
                    "attr": attr,
                    "values": [s.get(attr) for s in scores],
                }
            )
    return out


SETS = {
    "everyday_novel": records(DATA / "everyday/everyday_novel_input_output.json"),
    "everyday_packs": records(DATA / "everyday/everyday_packs_input_output.json"),
    "naacl": [
        r
        for p in sorted((DATA / "triage").glob("oracle_*.json"))
        if "adept" not in p.name and "soartech" not in p.name
        for r in records(p)
    ],
}
DEFS = definitions()


def accuracy(items: list[Item], probe: Callable[[Item], np.ndarray]) -> float:
    right = total = 0
    for item in items:
        estimate = np.asarray(probe(item), float)
        values = item["values"]
        scored = [i for i, v in enumerate(values) if v is not None]
        if len({values[i] for i in scored}) < 2:
            continue
        for high in (True, False):
            best = max(values[i] for i in scored) if high else min(values[i] for i in scored)
            pick = int(np.argmax(estimate) if high else np.argmin(estimate))
            right += values[pick] is not None and values[pick] == best
            total += 1
    return right / total


def poles(attr: str) -> tuple[str, str]:
    """value-fit's texts: high text with the description appended, and the low text."""
    d = DEFS[attr]
    return f"{d['high']}. {d['description']}", d["low"]


def weight(attr: str, everyday: float) -> float:
    return 1.0 if DEFS[attr]["domain"] == "triage" else everyday


def contrast(w_everyday: float) -> Callable[[Item], np.ndarray]:
    def probe(item: Item) -> np.ndarray:
        high, low = emb(list(poles(item["attr"])))
        options = emb(item["choices"])
        return options @ high - weight(item["attr"], w_everyday) * (options @ low)

    return probe


def phrases(text: str) -> list[str]:
    head, _, rest = text.partition(":")
    parts = [p.strip() for p in re.split(r"[,;]", rest) if p.strip()]
    return [head.strip(), *parts, text]


def phrase_probe(aggregate: str) -> Callable[[Item], np.ndarray]:
    def side(options: np.ndarray, text: str) -> np.ndarray:
        sims = options @ emb(phrases(text)).T
        return {"mean": sims.mean(1), "max": sims.max(1), "top2": np.sort(sims, 1)[:, -2:].mean(1)}[aggregate]

    def probe(item: Item) -> np.ndarray:
        high, low = poles(item["attr"])
        options = emb(item["choices"])
        return side(options, high) - weight(item["attr"], 0.25) * side(options, low)

    return probe


def centred_probe(drop: int) -> Callable[[Item], np.ndarray]:
    """Embeddings centred on the mean of every option text in datasets/, top principal directions
    removed ("all-but-the-top"): a fix for the anisotropy of sentence embeddings."""
    corpus = list(
        dict.fromkeys(
            c["unstructured"]
            for p in DATA.glob("*/*.json")
            for r in json.loads(p.read_text())
            for c in r["input"]["choices"]
        )
    )
    matrix = emb(corpus)
    mean = matrix.mean(0)
    top = np.linalg.svd(matrix - mean, full_matrices=False)[2][:drop]

    def fix(x: np.ndarray) -> np.ndarray:
        x = x - mean
        x = x - (x @ top.T) @ top
        return x / np.linalg.norm(x, axis=1, keepdims=True)

    def probe(item: Item) -> np.ndarray:
        high, low = fix(emb(list(poles(item["attr"]))))
        options = fix(emb(item["choices"]))
        return options @ high - weight(item["attr"], 0.25) * (options @ low)

    return probe


def single(field: str) -> Callable[[Item], np.ndarray]:
    def probe(item: Item) -> np.ndarray:
        return emb(item["choices"]) @ emb([DEFS[item["attr"]][field]])[0]

    return probe


def coherence(item: Item) -> np.ndarray:
    """How little appending the high (vs the low) text moves the option's embedding."""
    d = DEFS[item["attr"]]
    w = weight(item["attr"], 0.25)
    out = []
    for option in item["choices"]:
        o, with_high, with_low = emb([option, f"{option}. {d['high']}", f"{option}. {d['low']}"])
        out.append(o @ with_high - w * (o @ with_low))
    return np.array(out)


def gemma_yes_no() -> Callable[[Item], np.ndarray]:
    """log P(Yes) - log P(No) after "Does this choice show <value>?" with the scenario and one option."""
    import llama_cpp

    from assistant.models_local import embedded_model_path

    llm = llama_cpp.Llama(model_path=str(embedded_model_path()), n_ctx=1024, n_threads=2, verbose=False)
    yes = [llm.tokenize(t.encode(), add_bos=False)[0] for t in (" Yes", " yes")]
    no = [llm.tokenize(t.encode(), add_bos=False)[0] for t in (" No", " no")]

    def probe(item: Item) -> np.ndarray:
        d = DEFS[item["attr"]]
        out = []
        for option in item["choices"]:
            prompt = (
                f"{item['state']}\nChoice: {option}\nQuestion: Does this choice show {d['label'].lower()}? "
                f"({d['description']})\nAnswer (Yes or No):"
            )
            llm.reset()
            tokens = llm.tokenize(prompt.encode(), add_bos=True, special=True)
            llm.eval(tokens)
            logits = np.ctypeslib.as_array(llama_cpp.llama_get_logits(llm._ctx.ctx), shape=(llm.n_vocab(),))
            out.append(float(np.logaddexp.reduce(logits[yes]) - np.logaddexp.reduce(logits[no])))
        return np.array(out)

    return probe


def main() -> None:
    probes: dict[str, Callable[[Item], np.ndarray]] = {
        "value-fit's contrast (high+description - 0.25 low; triage 1.0)": contrast(0.25),
        "the same, low weight 0 / 0.5 / 1 for everyday values": contrast(0.0),
        "  (0.5)": contrast(0.5),
        "  (1.0)": contrast(1.0),
        "phrase by phrase, mean": phrase_probe("mean"),
        "phrase by phrase, max": phrase_probe("max"),
        "phrase by phrase, mean of the best 2": phrase_probe("top2"),
        "centred embeddings": centred_probe(0),
        "centred, 5 top directions removed": centred_probe(5),
        "centred, 12 top directions removed": centred_probe(12),
        "description only": single("description"),
        "label only": single("label"),
        "high text only": single("high"),
        "coherence (option + pole text vs option)": coherence,
    }
    if "--gemma" in sys.argv:
        probes["Gemma 3 270M yes/no"] = gemma_yes_no()
    print("| probe | " + " | ".join(f"{k} (n={2 * len(v)})" for k, v in SETS.items()) + " |")
    print("| --- |" + " --- |" * len(SETS))
    for name, probe in probes.items():
        print(f"| {name} | " + " | ".join(f"{accuracy(items, probe):.2f}" for items in SETS.values()) + " |")


if __name__ == "__main__":
    main()
