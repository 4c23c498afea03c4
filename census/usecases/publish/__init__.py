"""Publishing protected tables: `plan` decides and tabulates, `write` writes and records."""
