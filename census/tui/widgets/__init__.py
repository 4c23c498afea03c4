"""Reusable widgets of the census app."""
