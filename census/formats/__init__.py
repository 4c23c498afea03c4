"""Codecs: the file and message formats census reads and writes (pure)."""
