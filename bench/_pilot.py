"""Driving a Textual app key by key for the TUI benchmarks (imports Textual: load it only in
the process that runs the app)."""

from __future__ import annotations

import unicodedata
from typing import Any

from textual import events
from textual.keys import REPLACED_KEYS, _character_to_key, _get_unicode_name_from_key
from textual.pilot import Pilot


def key_event(key: str) -> events.Key:
    """A key event built as Textual's Pilot builds one (App._press_keys)."""
    if len(key) == 1 and not key.isalnum():
        key = _character_to_key(key)
    try:
        char: str | None = unicodedata.lookup(_get_unicode_name_from_key(
            REPLACED_KEYS.get(key, key)))
    except KeyError:
        char = key if len(key) == 1 else None
    return events.Key(key, char)


async def settle(pilot: Pilot[Any]) -> None:
    """Wait until nothing is pending in the app, its screen and widgets, then for a frame."""
    app = pilot.app
    for _ in range(1000):
        await pilot._wait_for_screen()
        nodes = [app, *app.screen.walk_children(with_self=True)]
        if not any(node.message_queue_size for node in nodes):
            break
    await app.screen.wait_for_refresh()
