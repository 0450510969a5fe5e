"""Stores the novel everyday attributes' definitions (tests/fixtures/novel_attributes.json) as an admin
would, replacing a seeded definition of the same name (honesty, generosity: the everyday pack has
its own), so that `align eval --holdout attribute` on everyday_novel reads the set's definitions.
Run from the repository root, with ALIGN_DATA_DIR naming a data directory made for the run."""

from __future__ import annotations

import json
from pathlib import Path

from assistant.cli.context import Cli
from assistant.cli.operator import acting_user
from profiles.schemas import AttributeCreate

with Cli() as cli:
    items = [
        AttributeCreate.model_validate(a)
        for a in json.loads(Path("tests/fixtures/novel_attributes.json").read_text())
    ]
    print(cli.store.attributes.upsert(acting_user(cli.store, None), items))
