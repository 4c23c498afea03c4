"""Disclosure control for published tables: pure functions, no I/O.

* :mod:`census.privacy.rounding` -- consistent random rounding to base 3 (RR3) by cell key.
* :mod:`census.privacy.ptable` -- cell-key perturbation tables in the ONS format: lookup,
  CSV reading/writing, and a maximum-entropy generator following sdcTools ``ptable``.
"""
