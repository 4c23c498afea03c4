"""Validation: the rule catalogue and the pure rule engine (no I/O, no UI)."""
