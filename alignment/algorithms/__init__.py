"""Alignment algorithms (the ALIGN family) behind one ``Algorithm.decide`` method."""

from alignment.algorithms.base import Algorithm, DecisionContext, Params
from alignment.algorithms.registry import (
    ENTRY_POINT_GROUP,
    algorithm_names,
    create_algorithm,
    get_algorithm,
)

__all__ = [
    "ENTRY_POINT_GROUP",
    "Algorithm",
    "DecisionContext",
    "Params",
    "algorithm_names",
    "create_algorithm",
    "get_algorithm",
]
