"""Measuring the assistant: `align eval` (runner, reports), calibration recovery, and the backbone and
server benchmarks."""
