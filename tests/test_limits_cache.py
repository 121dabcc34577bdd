"""The element limits kept between runs are the limits read from the map."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

PROBE = """
import sys
from pathlib import Path
from mohsedi.guide import compile as c, limits
from mohsedi.settings import Settings, configure
configure(Settings(cache_home=Path(sys.argv[1])))  # what the CLI makes of $XDG_CACHE_HOME
g = c.guide_for_map(c.CLAIM_837P_MAP)
nodes = sorted(i for p, i in g.by_path.items() if not c.NODES[i].is_loop)
def plain(limit):  # codes sorted: a frozenset's order differs between processes
    return (limit.ref, limit.name, limit.usage, limit.data_type, limit.min_len, limit.max_len,
            sorted(limit.codes), [plain(part) for part in limit.components])
read = [(c.NODES[i].path, limits.segment_limits(i)) for i in nodes[:: int(sys.argv[2])]]
print(repr([(path, found if found is None else [plain(x) for x in found]) for path, found in read]))
"""


def limits(cache: Path, step: int = 1) -> str:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(cache / "home")}
    done = subprocess.run(
        [sys.executable, "-c", PROBE, str(cache), str(step)], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def _kept(cache: Path) -> list[Path]:
    return sorted((cache / "mohsedi" / "guides").glob("*-limits-*.pickle"))


def test_kept_limits_equal_the_limits_read_from_the_map(tmp_path: Path) -> None:
    some = limits(tmp_path, 7)  # read from the map, kept
    assert len(_kept(tmp_path)) == 1
    every = limits(tmp_path)  # those kept, and the rest read and kept
    assert limits(tmp_path) == every  # all kept now
    assert limits(tmp_path / "fresh") == every  # all read from the map
    assert limits(tmp_path, 7) == some
    assert "CLM02" in every and "SV101" in every


def test_a_damaged_limits_file_is_read_from_the_map_again(tmp_path: Path) -> None:
    read = limits(tmp_path, 5)
    (kept,) = _kept(tmp_path)
    kept.write_bytes(b"not a pickle")
    assert limits(tmp_path, 5) == read
    assert kept.read_bytes() != b"not a pickle"  # and kept again
