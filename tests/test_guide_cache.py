"""The compiled guide kept between runs must be the guide compiled now, wherever it lands in
the node table."""

from __future__ import annotations

import os
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


INDEX_PROBE = """
import json, sys
from pathlib import Path
from mohsedi.guide import compile as c
from mohsedi.settings import Settings, configure
configure(Settings(cache_home=Path(sys.argv[1])))
kept = c._map_index()
print(json.dumps([sorted(kept.items()), sorted(c._read_map_index().items())]))
"""


def index(cache: Path) -> list:
    import json

    env = {"PATH": "/usr/bin:/bin", "HOME": str(cache / "home")}
    done = subprocess.run(
        [sys.executable, "-c", INDEX_PROBE, str(cache)], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_the_kept_map_index_is_the_one_read_from_maps_xml(tmp_path: Path) -> None:
    first, read = index(tmp_path)  # read and stored
    assert first == read and ["00501", "005010X222A1", "HC"] in [key for key, _ in first]
    (stored,) = (tmp_path / "mohsedi" / "guides").glob("maps-*.pickle")
    again, read = index(tmp_path)  # read back
    assert again == read
    stored.write_bytes(b"not a pickle")
    damaged, read = index(tmp_path)  # read from maps.xml again, and stored again
    assert damaged == read
    assert stored.read_bytes() != b"not a pickle"


def test_a_check_reads_no_xml(tmp_path: Path) -> None:
    """The compiled guide, its limits and the map index are kept: a check of a file whose
    fixes the gate judges does not load lxml (a sixtieth of a small check's time)."""
    probe = (
        "import sys; from mohsedi.cli.main import cli\n"
        "try:\n"
        "    cli.main(['check', sys.argv[1], '--fail-on', 'never'], prog_name='mohsedi', standalone_mode=False)\n"
        "except SystemExit: pass\n"
        "print('lxml' in sys.modules)\n"
    )
    heavy = Path(__file__).resolve().parent / "fixtures" / "heavy" / "heavy.837"
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path)}
    run = lambda: subprocess.run(  # noqa: E731
        [sys.executable, "-c", probe, str(heavy)], env=env, capture_output=True, text=True, timeout=120
    )
    first = run()  # fills the caches
    assert first.returncode == 0, first.stderr
    assert list((tmp_path / "mohsedi" / "guides").glob("maps-*.pickle"))
    done = run()
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "False"


def test_a_check_loads_no_module_it_does_not_use() -> None:
    """A plain check (no store, no --tr3) imports neither the store's nor the logging machinery:
    each is a noticeable part of a small check's time."""
    probe = (
        "import sys; from mohsedi.cli.main import cli\n"
        "try:\n"
        "    cli.main(['check', sys.argv[1], '--fail-on', 'never'], prog_name='mohsedi', standalone_mode=False)\n"
        "except SystemExit: pass\n"
        "print(sorted(m for m in ('logging', 'sqlalchemy', 'alembic', 'numpy') if m in sys.modules))\n"
    )
    sample = Path(__file__).resolve().parents[1] / "samples" / "01-mohs-clean.837"
    done = subprocess.run([sys.executable, "-c", probe, str(sample)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "[]"
