"""Runs the engine: `python3 -m engine` from rescue/, and the zipapp's __main__.py (the same text)."""

from engine.cli import entry

entry()
