"""Opening a collection never loads a model by name (from the model hub): the store's own embedder
does the work. chromadb rebuilds an embedding function from its config on every
get_or_create_collection; the parent class's rebuild would construct a SentenceTransformer by name,
which without a network retries for about half a minute per collection."""

from pathlib import Path

import chromadb
import pytest
import sentence_transformers

from alignment.fake import FakeEmbedder
from assistant.stores.chroma import chroma_settings
from assistant.stores.examples import ExampleStore


def test_opening_collections_loads_no_model_by_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    loaded: list[object] = []

    def refuse(self: object, *args: object, **kwargs: object) -> None:
        loaded.append(args[0] if args else kwargs.get("model_name_or_path"))
        raise OSError("no model hub here")

    monkeypatch.setattr(sentence_transformers.SentenceTransformer, "__init__", refuse)
    client = chromadb.PersistentClient(path=str(tmp_path / "chroma"), settings=chroma_settings())
    embedder = FakeEmbedder(["fairness", "risk"])
    for collection in ("examples", "examples", "other"):  # created, reopened, another one
        store = ExampleStore(client, embedder, collection=collection)
        assert store.collection.configuration_json["embedding_function"]["name"] == "sentence_transformer"
    assert loaded == []
