"""Sealed transfer files between census databases: keys, sealing, bundles, assignments, receipts."""
