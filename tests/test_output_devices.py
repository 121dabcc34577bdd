"""Writing a report to a device or a pipe writes into it: the device stays (a rename onto
/dev/null, as root, would replace the device with a plain file and break every later command)."""

from __future__ import annotations

import os
import stat
import threading
from pathlib import Path

import pytest

from mohsedi.files import atomic_write


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_a_fifo_output_is_written_into_not_replaced(tmp_path: Path) -> None:
    fifo = tmp_path / "out.fifo"
    os.mkfifo(fifo)
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()))
    reader.start()
    atomic_write(fifo, b"ISA*...~")
    reader.join(timeout=10)
    assert got == [b"ISA*...~"]
    assert stat.S_ISFIFO(fifo.stat().st_mode)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.fifo"]  # no temporary file left beside it
