"""Disclosure control for published tables: pure functions, no I/O.

* :mod:`census.privacy.rounding` -- consistent random rounding to base 3 (RR3) by cell key.
* :mod:`census.privacy.ptable` -- cell-key perturbation tables in the ONS format: lookup,
  CSV reading/writing, and a maximum-entropy generator following sdcTools ``ptable``.
"""

from census.privacy.ptable import PTable, apply, generate, read_ons_csv, write_ons_csv
from census.privacy.rounding import rr3

__all__ = ["PTable", "apply", "generate", "read_ons_csv", "rr3", "write_ons_csv"]
