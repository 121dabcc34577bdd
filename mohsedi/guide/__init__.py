"""The implementation guides as data (pyx12's maps) and the walker that places segments in loops."""

from collections.abc import Iterable, Iterator

from mohsedi.guide.compile import NODES, GuideNode, guide_for
from mohsedi.guide.walker import node_loop, node_path, place_units
from mohsedi.x12.envelope import Unit, iter_units
from mohsedi.x12.segments import iter_segments


def read_units(chunks: Iterable[str], *, source: str | None = None) -> Iterator[Unit]:
    """Text chunks -> envelope units and transaction sets with every segment placed in its loop."""
    return place_units(iter_units(iter_segments(chunks, source=source), source=source), source=source)


__all__ = ["NODES", "GuideNode", "guide_for", "node_loop", "node_path", "place_units", "read_units"]
