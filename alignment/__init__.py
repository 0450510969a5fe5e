"""The pure alignment core: attributes, targets, prompts, algorithms, metrics.

Functions of plain data; I/O lives in backbones and stores that are handed in.
"""
