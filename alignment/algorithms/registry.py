"""Algorithms by name: the built-ins plus any package's ``align.algorithms`` entry points."""

from __future__ import annotations

from importlib.metadata import entry_points
from typing import Any

from alignment.algorithms.base import Algorithm
from alignment.algorithms.icl import IclAlgorithm
from alignment.algorithms.likelihood import LikelihoodAlgorithm
from alignment.algorithms.regression import RegressionAlgorithm
from alignment.algorithms.simple import PersonaAlgorithm, RandomAlgorithm, UnalignedAlgorithm
from alignment.algorithms.value_fit import ValueFitAlgorithm
from alignment.algorithms.vote import PersonaVoteAlgorithm
from alignment.errors import ConfigError, UnknownName

__all__ = ["ENTRY_POINT_GROUP", "algorithm_names", "create_algorithm", "get_algorithm"]

ENTRY_POINT_GROUP = "align.algorithms"

_BUILTIN: dict[str, type[Algorithm]] = {
    cls.name: cls
    for cls in (
        UnalignedAlgorithm,
        RandomAlgorithm,
        PersonaAlgorithm,
        PersonaVoteAlgorithm,
        LikelihoodAlgorithm,
        IclAlgorithm,
        RegressionAlgorithm,
        ValueFitAlgorithm,
    )
}


def _extra() -> dict[str, Any]:
    return {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}


def algorithm_names() -> list[str]:
    return sorted(set(_BUILTIN) | set(_extra()))


def get_algorithm(name: str) -> type[Algorithm]:
    if name in _BUILTIN:
        return _BUILTIN[name]
    ep = _extra().get(name)
    if ep is None:
        raise UnknownName("algorithm", name, algorithm_names())
    try:
        cls = ep.load()
    except Exception as exc:  # a broken plugin must not crash the CLI with a traceback
        raise ConfigError(f"algorithm plugin {name!r} ({ep.value}) failed to load: {exc}") from exc
    if not (isinstance(cls, type) and issubclass(cls, Algorithm)):
        raise ConfigError(
            f"algorithm plugin {name!r} ({ep.value}) is not a subclass of alignment.algorithms.Algorithm"
        )
    return cls


def create_algorithm(name: str, **params: Any) -> Algorithm:
    return get_algorithm(name)(**params)
