"""Aggregate tables from stored counts and cell keys (pure: the SQL lives in census/storage)."""
