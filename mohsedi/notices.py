"""What a layer below the command line has to tell the user on its own (the store upgraded).

The layers call ``tell``; the command line listens and prints each notice as one line on stderr
(not with --quiet). A library user may listen too; with no listener a notice goes nowhere. Not
`logging`: importing it is a sixtieth of a small check's time, and nothing else here needs it."""

from __future__ import annotations

from collections.abc import Callable

_listeners: list[Callable[[str], None]] = []


def listen(listener: Callable[[str], None]) -> None:
    """Have ``listener`` called with every notice from now on (once, however often asked)."""
    if listener not in _listeners:
        _listeners.append(listener)


def tell(message: str) -> None:
    for listener in _listeners:
        listener(message)
