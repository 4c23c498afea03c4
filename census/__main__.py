"""`python -m census` runs the same command line as the `census` script."""

from census.cli import main

main()
