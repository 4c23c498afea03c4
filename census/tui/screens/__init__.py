"""The census app's screens, one module each (or a pair that belongs together); the app imports
each one when it first shows it."""
