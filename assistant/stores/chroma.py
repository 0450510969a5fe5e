"""The Chroma client the settings describe, and the embedding function collections are opened with.

Telemetry is off through chromadb's own settings. Collections are always opened with
``ChromaEmbedding`` (named and configured like chromadb's ``sentence_transformer`` function, so a
collection created by either opens with either), so chromadb never falls back to (and never
downloads) its default ONNX model.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from alignment.embedding import Embedder
from alignment.errors import ConfigError

if TYPE_CHECKING:  # chromadb is imported on first use
    from chromadb.api import ClientAPI
    from chromadb.config import Settings as ChromaSettings

    from assistant.settings import Settings

__all__ = ["ChromaEmbedding", "chroma_client", "chroma_exists", "chroma_settings"]


def chroma_settings() -> ChromaSettings:
    from chromadb.config import Settings as ChromaSettings

    return ChromaSettings(anonymized_telemetry=False)


def chroma_exists(settings: Settings) -> bool:
    """Whether there is an example store to read: a Chroma server is named, or the embedded one
    under ``data_dir`` has been created."""
    return bool(settings.chroma_host) or (Path(settings.data_dir) / "chroma").is_dir()


def chroma_client(settings: Settings) -> ClientAPI:
    """A Chroma server by ``chroma_host``/``chroma_port``, else an embedded one under ``data_dir``."""
    import chromadb

    if settings.chroma_host:
        try:
            client = chromadb.HttpClient(
                host=settings.chroma_host, port=settings.chroma_port, settings=chroma_settings()
            )
            client.heartbeat()
        except Exception as exc:
            raise ConfigError(
                f"cannot reach the Chroma server at {settings.chroma_host}:{settings.chroma_port} ({exc}); "
                "start it (`chroma run --path DIR --host HOST --port PORT`) or unset ALIGN_CHROMA_HOST "
                "to use the embedded store"
            ) from None
        return client
    path = Path(settings.data_dir) / "chroma"
    path.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(path), settings=chroma_settings())


def _function_base() -> type:
    from chromadb.utils.embedding_functions import SentenceTransformerEmbeddingFunction

    return SentenceTransformerEmbeddingFunction


def ChromaEmbedding(embedder: Embedder, model_name: str = "all-MiniLM-L6-v2") -> Any:
    """chromadb's embedding-function interface over ``embedder`` (the class is made on first use, so
    importing this module does not import chromadb)."""
    base = _function_base()

    class _Function(base):  # type: ignore[misc, valid-type]
        def __init__(self) -> None:  # no model load: the embedder does the work
            self.model_name = model_name
            self.device = "cpu"
            self.normalize_embeddings = True
            self.kwargs: dict[str, Any] = {}

        def __call__(self, input: Any) -> Any:
            import numpy as np

            return [np.asarray(v, dtype=np.float32) for v in embedder.embed(list(input))]

        @staticmethod
        def build_from_config(config: dict[str, Any]) -> Any:
            # chromadb rebuilds the function from its config to check that it is not a legacy one
            # (``is_legacy``, on every get_or_create_collection); the parent's would load a second
            # SentenceTransformer by name, from the model hub: no download, this embedder instead
            return _Function()

    _Function.__name__ = _Function.__qualname__ = "ChromaEmbedding"
    return _Function()
