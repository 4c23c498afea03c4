"""The error of an export request."""

from census.domain.errors import CensusError


class ExportError(CensusError):
    """A request that cannot be exported; the message says why and how to fix it."""
