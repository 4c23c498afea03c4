"""Use cases: what a user does, one place for the app and the command line; every write of
census data goes through here."""
