"""census: household-count census entry, merge and protected tables. Counts people, never who."""

__version__ = "0.1.0"
