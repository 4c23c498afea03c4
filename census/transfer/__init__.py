"""Sealed files: keys and key cards, sealing and opening, writing files whole."""
