"""The compiled guide kept between runs must be the guide compiled now, wherever it lands in
the node table."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

PROBE = """
import json, sys
from pathlib import Path
from mohsedi.guide import compile as c
from mohsedi.settings import Settings, configure
configure(Settings(cache_home=Path(sys.argv[2])))  # what the CLI makes of $XDG_CACHE_HOME
first = sys.argv[1]
if first != "-":
    c.guide_for_map(first)  # another guide first: the cached one is renumbered after it
g = c.guide_for_map(c.CLAIM_837P_MAP)
base = g.root
nodes = [(n.index - base, n.kind, n.id, n.path, n.loop, n.parent - base if n.parent >= 0 else -1,
          [x - base for x in n.children], n.key and [n.key[0], n.key[1], sorted(n.key[2])], n.max_use)
         for n in c.NODES[base:]]
chains = [list(x) for x in c.CHAINS[base:]]
print(json.dumps([nodes, chains, {k: v - base for k, v in g.by_path.items()},
                  {k: sorted(v) for k, v in g.key_codes.items()}, g.key_positions]))
"""


def table(cache: Path, first: str = "-") -> str:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(cache / "home")}
    done = subprocess.run(
        [sys.executable, "-c", PROBE, first, str(cache)], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_cached_guide_equals_the_compiled_one(tmp_path: Path) -> None:
    compiled = table(tmp_path)  # compiles and stores
    stored = sorted((tmp_path / "mohsedi" / "guides").glob("837.5010.X222.A1-*.pickle"))
    assert len(stored) == 1
    assert table(tmp_path) == compiled  # read back
    assert table(tmp_path, "835.5010.X221.A1.xml") == compiled  # read back after another guide
    fresh = tmp_path / "fresh"
    assert table(fresh, "835.5010.X221.A1.xml") == compiled  # compiled after another guide, stored shifted
    assert table(fresh) == compiled


def test_a_damaged_cache_file_is_compiled_again(tmp_path: Path) -> None:
    compiled = table(tmp_path)
    (stored,) = (tmp_path / "mohsedi" / "guides").glob("*.pickle")
    stored.write_bytes(b"not a pickle")
    assert table(tmp_path) == compiled
    assert stored.read_bytes() != b"not a pickle"  # and stored again
