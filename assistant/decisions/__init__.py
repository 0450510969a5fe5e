"""Decisions as the assistant makes them: the decision service, chat turns, comparisons, the decision
log around every decision, feedback and calibration."""
