"""Text from files shown on a terminal: control characters made visible, never obeyed."""

from __future__ import annotations

import re

# C0 and C1 controls and DEL (an ESC starts the OSC/CSI sequences that retitle a window, hide
# text or write hyperlinks), the Unicode line and paragraph separators, and the bidirectional
# overrides that reorder what is shown ("Trojan Source").
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def printable(text: str) -> str:
    """``text`` with each unsafe character written as its escape (ESC -> \\x1b)."""
    if text.isprintable():
        return text
    return _UNSAFE.sub(lambda m: f"\\x{ord(m[0]):02x}" if ord(m[0]) < 0x100 else f"\\u{ord(m[0]):04x}", text)
