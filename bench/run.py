"""`make bench`: mohsedi against its peers on the same generated files, side by side in one run.

Every phase runs in a process of its own, so its peak memory (ru_maxrss) is its own, and every
side of a comparison runs the same number of times (``--repeat``), in rounds that alternate
the sides so the machine's noise falls on all of them alike (pyx12's half-minute runs come
after the others' rounds: the machine is slower for a while after each); the fastest run of each is kept,
by wall clock and by CPU time separately. The cyclic garbage collector is off in every parse
phase, ours and the peers', and every parse phase lets go of what it read inside the clock:
mohsedi's readers stream and free each transaction set as they go, so a peer that returns the
whole file's result frees it before its clock stops too (about a sixth of openx12's time).
Every side's modules are imported before its clock starts (pyx12's, openx12's, and mohsedi's
for its parse and command phases); what each loads from data (pyx12's map, mohsedi's compiled
guide and reference database) is timed. mohsedi's start-up is a phase of its own.
These machines are shared and noisy: read the ratios, not the absolute rates; `--instructions`
adds a count of each parser's CPU instructions (valgrind), which the load does not move. Each
saved run starts with the commit, Python version and CPU it ran on.

    python bench/run.py                          # the full run (a few minutes on a quiet machine)
    python bench/run.py --quick                  # small files, every phase once: for development
    python bench/run.py --segments 100000        # parse and rules phases on smaller files
    python bench/run.py --memory-segments 0      # skip the 1M-segment memory phases
    python bench/run.py --big-segments 0         # skip the 10M-segment check/fix phases
    python bench/run.py --groups parse --instructions   # parse ratios by instruction count too
    make bench BENCH_ARGS="--quick"

Peers (the `bench` extra: pip install -e '.[bench]'): openx12 (837P and 835, pure Python),
oxedi (835 only, Rust), pyx12's X12ContextReader (the reference for loop placement). A peer
that is not installed is reported as skipped, never silently left out.
"""

from __future__ import annotations

import argparse
import compileall
import dataclasses
import gc
import json
import os
import platform
import random
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from mohsedi import synth  # noqa: E402

# What each phase does, said in the report next to its figures: the sides do different work.
WORK = {
    "startup": "mohsedi's once-per-process cost: import the readers, compile the 837P and 835 guides",
    "floor": "str.split on the terminator; no objects (the floor)",
    "ours": "mohsedi: lossless segments, each placed by the guide, loop objects",
    "openx12": "openx12: split, dicts per claim (no guide placement, not lossless); result released in the clock",
    "oxedi": "oxedi (Rust): segment index, loop engine, tables, diagnostics; result released in the clock",
    "pyx12": "pyx12 X12ContextReader: segments placed by the guide (no claim objects)",
    "check-json": "mohsedi check --format json -o FILE: every rule, findings rendered (modules imported "
    "before the clock, as pyx12's; the guide and reference data loaded inside it)",
    "fix-db": "mohsedi fix -o DIR --db (SQLite): rules, fixes, fixed file written, store rows (imports as check-json)",
    "check-fix": "check + fix, fixed file written (no store)",
    "ingest": "mohsedi ingest: read the 835, store every payment (PostgreSQL: COPY from a thread), check, link",
    "build-report-store": "insert generated service lines (setup for the report)",
    "report-store": "mohsedi report denials over the store",
}


GROUPS = ("parse", "rules", "memory", "big", "store")
LONG_RUNNING = {"pyx12"}  # timed after the other sides' rounds (see group())


def _segments_per_claim(kind: str, heavy: bool) -> float:
    """Measured on a sample of the generator's own output, so file sizes come out as asked."""
    text = "".join(_chunks(kind, 200, heavy, seed=1))
    return max(1.0, (text.count("~") - 10) / 200)


def _heavy_claim(rng: random.Random, n: int) -> synth.ClaimSpec:
    """A generated claim with something a rule finds: a wrong CLM02, no CLIA, or a second
    tumor's lines without a distinct-lesion modifier, in turn."""
    claim = synth.random_mohs_claim(rng, n)
    kind = n % 3
    if kind == 0:
        claim.total = sum((line.charge for line in claim.lines), Decimal("0")) + Decimal("1.00")
    elif kind == 1:
        claim.clia = None
    else:
        extra = synth.LineSpec("17311", Decimal("600.00"), 1, (), (1,))
        claim.lines = [dataclasses.replace(line, modifiers=()) for line in claim.lines] + [extra]
    return claim


def _chunks(kind: str, count: int, heavy: bool, seed: int):
    rng = random.Random(seed)
    make = _heavy_claim if heavy else synth.random_mohs_claim
    claims = (make(rng, n) for n in range(count))
    if kind == "837":
        return synth.iter_837p(claims, synth.Envelope837(), claims_per_transaction=1000)
    payments = (synth.random_payment(rng, c) for c in claims)
    return synth.iter_835(payments, synth.Envelope835(), claims_per_transaction=1000)


def generate(path: Path, segments: int, kind: str, *, heavy: bool = False, seed: int = 7) -> int:
    """Write a generated file of about ``segments`` segments; return the exact count."""
    count = max(1, round(segments / _segments_per_claim(kind, heavy)))
    total = 0
    tmp = path.with_suffix(path.suffix + ".tmp")
    with open(tmp, "w", newline="") as fh:
        for chunk in _chunks(kind, count, heavy, seed):
            total += chunk.count("~")
            fh.write(chunk)
    os.replace(tmp, path)
    return total


def _run_cli(args: list[str]) -> None:
    """One mohsedi command in this process, as the console script runs it."""
    from mohsedi.cli.main import cli

    try:
        cli.main(args, prog_name="mohsedi", standalone_mode=False)
    except SystemExit as stop:  # --fail-on never: anything else is a failed phase
        if stop.code not in (0, None):
            raise


def _summary(report: Path) -> dict:
    """A findings report's summary, read from its end (the document ends with it): loading the
    whole report would put the bench's own memory into the phase's peak."""
    with open(report, "rb") as fh:
        fh.seek(max(0, os.path.getsize(report) - 4096))
        tail = fh.read().decode("utf-8", "replace")
    key = '"summary": '
    return json.loads(tail[tail.rindex(key) + len(key) :].rstrip().removesuffix("}"))


def phase(name: str, path: str) -> dict:
    """Run one timed phase in this process and report it."""
    from mohsedi.runtime import tune_for_batches

    tune_for_batches()  # as the mohsedi command does
    parse_phase = name.split("-")[0] in ("floor", "ours", "openx12", "oxedi", "pyx12")
    if parse_phase:
        gc.disable()  # every parser alike: no cyclic collection while reading
        _import_parser(name)  # every side's imports before the clock; mohsedi's start-up is a phase of its own
    elif name in COMMANDS:
        _import_command()  # as pyx12's: modules imported before the clock, data loaded inside it
    if os.environ.get(SETUP_ONLY):
        return {"phase": name, "seconds": 0.0, "cpu": 0.0, "items": 0, "peak_mb": 0.0}  # the baseline of a count
    start = time.perf_counter()
    cpu_start = _cpu()
    items = 0
    extra: dict[str, float] = {}
    if name == "startup":
        from mohsedi.claims.reader import read_claim_file
        from mohsedi.guide.compile import guide_for
        from mohsedi.remits.reader import read_remit_file  # noqa: F401

        guide_for("00501", "005010X222A1", "HC")
        guide_for("00501", "005010X221A1", "HP")
        items = int(read_claim_file is not None)
    elif name.startswith("floor"):
        with open(path, newline="") as fh:
            items = len(fh.read().split("~"))
    elif name == "ours-837":
        from mohsedi.claims.reader import ClaimSet, read_claim_file

        for unit in read_claim_file(path):
            if isinstance(unit, ClaimSet):
                items += sum(len(c.lines) for c in unit.claims)
    elif name == "ours-835":
        from mohsedi.remits.reader import RemitSet, read_remit_file

        for unit in read_remit_file(path):
            if isinstance(unit, RemitSet) and unit.remittance:
                items += sum(len(c.services) for c in unit.remittance.claims)
    elif name.startswith("openx12"):
        from openx12 import x835, x837p

        with open(path, newline="") as fh:
            content = fh.read()
        parsed = (x837p if name.endswith("837") else x835).parse(content)
        items = len(parsed.claims)
        del parsed, content  # released inside the clock, as the streaming readers release theirs as they go
    elif name.startswith("oxedi"):
        import oxedi

        parsed = oxedi.parse_file(path)
        items = len(parsed.tables["services"])
        del parsed  # released inside the clock, as the streaming readers release theirs as they go
    elif name.startswith("pyx12"):
        import logging

        import pyx12.error_handler
        import pyx12.params
        import pyx12.x12context

        logging.getLogger("pyx12").setLevel(logging.CRITICAL)
        reader = pyx12.x12context.X12ContextReader(pyx12.params.params(), pyx12.error_handler.errh_null(), path)
        for _ in reader.iter_segments():
            items += 1
        reader.close()
    elif name == "check-json":
        with tempfile.TemporaryDirectory(dir=Path(path).parent) as out:
            report = Path(out) / "findings.json"
            _run_cli(["check", path, "--format", "json", "-o", str(report), "--fail-on", "never"])
            items = _summary(report)["claims"]
    elif name == "fix-db":
        with tempfile.TemporaryDirectory(dir=Path(path).parent) as out:
            os.environ.setdefault("MOHSEDI_SECRET", "bench")
            report = Path(out) / "report.json"
            _run_cli(
                [
                    "fix", path, "-o", str(Path(out) / "fixed"), "--db", f"sqlite:///{out}/store.db",
                    "--format", "json", "--report", str(report), "--fail-on", "never",
                ]
            )  # fmt: skip
            items = _summary(report)["claims"]
    elif name.startswith("ingest-"):
        from mohsedi.store.db import downgrade, open_store
        from mohsedi.store.ingest import ingest_file

        os.environ.setdefault("MOHSEDI_SECRET", "bench")
        url = os.environ["MOHSEDI_BENCH_DB"]
        if name == "ingest-postgresql":
            downgrade(url, "base")  # a clean schema, so the file is not already stored
        elif url.startswith("sqlite:///"):
            Path(url.removeprefix("sqlite:///")).unlink(missing_ok=True)
        engine = open_store(url)
        server = _server_cpu(engine)
        start = time.perf_counter()  # the clocks start after migrating the empty store
        cpu_start = _cpu()
        items = ingest_file(engine, path).service_payments
        seconds, cpu = time.perf_counter() - start, _cpu() - cpu_start
        if server is not None:  # the database server's own work: not in this process's CPU time
            after = _server_cpu(engine) or {}
            extra["server_cpu"] = sum(t - server.get(pid, 0.0) for pid, t in after.items())
        engine.dispose()
    elif name == "report-store":
        from mohsedi.reports.denials import Period, root_cause_report
        from mohsedi.reports.periods import parse_day
        from mohsedi.store.db import open_store

        engine = open_store(os.environ["MOHSEDI_BENCH_DB"])
        start = time.perf_counter()  # the store was built by the previous phase
        cpu_start = _cpu()
        report = root_cause_report(engine, Period(parse_day("365d"), None))
        items = report["totals"]["denials"]
    elif name == "build-report-store":
        sys.path.insert(0, str(ROOT / "bench"))
        from report_store import build

        from mohsedi.store.db import open_store

        items = build(open_store(os.environ["MOHSEDI_BENCH_DB"]), int(os.environ["MOHSEDI_BENCH_LINES"]))
    elif name.startswith("check-fix"):
        # As `mohsedi fix FILE -o DIR --jobs N` runs it, writing the fixed file.
        from mohsedi.pipeline import run_fix
        from mohsedi.rules.context import RuleOptions
        from mohsedi.rules.registry import all_rules

        jobs = int(name.rsplit("-", 1)[1]) if name[-1].isdigit() else 1
        with tempfile.TemporaryDirectory(dir=Path(path).parent) as out:
            target = Path(out) / Path(path).name
            reports = run_fix([path], all_rules(), RuleOptions(), targets={path: target}, jobs=jobs)
            items = sum(r.claims for r in reports)
    elif name.startswith("check-"):
        from mohsedi.pipeline import run_check
        from mohsedi.rules.context import RuleOptions
        from mohsedi.rules.registry import all_rules

        items = sum(r.claims for r in run_check([path], all_rules(), RuleOptions(), jobs=int(name.rsplit("-", 1)[1])))
    else:
        raise SystemExit(f"unknown phase {name}")
    if not name.startswith("ingest-"):
        seconds = time.perf_counter() - start
        cpu = _cpu() - cpu_start
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # With --jobs the workers hold the transaction sets: the largest process is what must fit.
    peak_kb = max(peak_kb, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
    return {"phase": name, "seconds": seconds, "cpu": cpu, "items": items, "peak_mb": peak_kb / 1024, **extra}


def _server_cpu(engine) -> dict[int, float] | None:
    """{pid: CPU seconds} of every PostgreSQL backend serving the engine's database (ingest uses
    two: its transaction's and the one its keys are drawn and committed rows looked up on), when
    the server runs on this machine and /proc shows them; None for SQLite."""
    if engine.dialect.name != "postgresql":
        return None
    with engine.connect() as conn:
        pids = conn.exec_driver_sql(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND backend_type = 'client backend'"
        ).scalars()
        out = {}
        for pid in pids:
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            out[pid] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return out


def _import_parser(name: str) -> None:
    if name.startswith("ours"):
        import mohsedi.claims.reader
        import mohsedi.remits.reader  # noqa: F401
        from mohsedi.guide.compile import guide_for

        # Compiling the guides is a once-per-process cost, timed in the start-up phase.
        guide_for("00501", "005010X222A1", "HC")
        guide_for("00501", "005010X221A1", "HP")
    elif name.startswith("openx12"):
        import openx12  # noqa: F401
    elif name.startswith("oxedi"):
        import oxedi  # noqa: F401
    elif name.startswith("pyx12"):
        import pyx12.x12context  # noqa: F401


COMMANDS = ("check-json", "fix-db")  # whole mohsedi commands, run as the console script runs them
SETUP_ONLY = "MOHSEDI_BENCH_SETUP_ONLY"  # stop where the clock would start: what an instruction count subtracts


def _import_command() -> None:
    """The modules `check` and `fix` import, loaded before the clock as pyx12's are: the
    comparison is of the work on the file. Their data (the compiled guide, the reference
    database, the rule registry's catalog) is still loaded inside it; `python -X importtime`
    and the start-up phase show the import cost on its own."""
    import mohsedi.cli.main
    import mohsedi.cli.render
    import mohsedi.pipeline
    import mohsedi.rules.catalog  # noqa: F401


def _cpu() -> float:
    """CPU seconds of this process and its finished workers: steadier than wall time on a shared machine."""
    own, workers = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + workers.ru_utime + workers.ru_stime


def run_phase(name: str, path: Path, env: dict | None = None) -> dict | None:
    cmd = [sys.executable, __file__, "--phase", name, "--file", str(path)]
    proc = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, **(env or {})})
    if proc.returncode != 0:
        print(f"  {name}: failed\n{proc.stderr.strip()[-2000:]}", file=sys.stderr)
        return None
    return json.loads(proc.stdout)


def count_instructions(name: str, path: Path) -> int | None:
    """The CPU instructions a phase's work takes, counted by valgrind's cachegrind: the phase,
    less the same process stopped where its clock would start (interpreter start, imports, the
    guides). Unlike a clock, the count does not move with the machine's load; None without valgrind."""
    counts = []
    for setup_only in (False, True):
        cmd = [
            "valgrind", "--tool=cachegrind", "--cache-sim=no", "--cachegrind-out-file=/dev/null",
            sys.executable, __file__, "--phase", name, "--file", str(path),
        ]  # fmt: skip
        # One hash seed for both: set and dict layouts, and so the imports' instructions, alike.
        env = {**os.environ, "PYTHONHASHSEED": "0", **({SETUP_ONLY: "1"} if setup_only else {})}
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
        except FileNotFoundError:
            return None
        refs = [line for line in proc.stderr.splitlines() if "I   refs:" in line or "I refs:" in line]
        if proc.returncode != 0 or not refs:
            print(f"  {name}: not counted\n{proc.stderr.strip()[-2000:]}", file=sys.stderr)
            return None
        counts.append(int(refs[-1].rsplit(":", 1)[1].replace(",", "")))
    return counts[0] - counts[1]


def _version(dist: str) -> str | None:
    from importlib import metadata

    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def stamp() -> list[str]:
    """Where and on what a run was made: without this a saved figure means nothing."""

    def git(*args: str) -> str:
        proc = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True)
        return proc.stdout.strip() if proc.returncode == 0 else "?"

    commit = git("rev-parse", "HEAD")
    dirty = " (with uncommitted changes)" if git("status", "--porcelain", "--untracked-files=no") else ""
    cpu = platform.processor() or "?"
    try:
        with open("/proc/cpuinfo") as fh:
            cpu = next((line.split(":", 1)[1].strip() for line in fh if line.startswith("model name")), cpu)
    except OSError:
        pass
    load = " ".join(f"{x:.1f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "?"
    peers = ", ".join(f"{d} {_version(d) or 'not installed'}" for d in ("openx12", "oxedi", "pyx12"))
    return [
        f"run at:   {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}",
        f"commit:   {commit}{dirty}",
        f"python:   {platform.python_implementation()} {platform.python_version()}",
        f"machine:  {cpu}, {os.cpu_count()} cores, {platform.system()} {platform.release()}; load {load}",
        f"peers:    {peers}",
        f"args:     {' '.join(sys.argv[1:]) or '(defaults)'}",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--segments", type=int, default=200_000, help="segments per file of the parse and rules phases")
    parser.add_argument("--out", default=str(ROOT / "bench" / "out"))
    parser.add_argument(
        "--repeat", type=int, default=3, help="runs of every phase on every side, the fastest kept (default 3)"
    )
    parser.add_argument(
        "--memory-segments",
        type=int,
        default=1_000_000,
        help="segments of the finding-heavy 837P the memory phases (check --format json -o, fix -o --db) "
        "run on once each (0: skip)",
    )
    parser.add_argument(
        "--big-segments",
        type=int,
        default=10_000_000,
        help="also time check and check + fix (1 and 2 jobs) on a file of this many segments, once "
        "each, for memory (0: skip)",
    )
    parser.add_argument(
        "--report-lines",
        type=int,
        default=1_000_000,
        help="service lines in the generated store the denial report is timed on (0: skip)",
    )
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("MOHSEDI_BENCH_POSTGRES_URL"),
        help="PostgreSQL database for the ingest timing (its mohsedi tables are dropped and "
        "recreated); default $MOHSEDI_BENCH_POSTGRES_URL, else that timing is skipped",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="development mode: 20k-segment files, every phase once, no memory or big-file phases",
    )
    parser.add_argument(
        "--save", default=str(ROOT / "bench" / "last-run.txt"), help="where the stamped report is written"
    )
    parser.add_argument(
        "--groups",
        default=",".join(GROUPS),
        help=f"which groups of phases to run, comma-separated (default all: {','.join(GROUPS)})",
    )
    parser.add_argument(
        "--peers", default="openx12,oxedi,pyx12", help="which peers to time (default: openx12,oxedi,pyx12)"
    )
    parser.add_argument(
        "--instructions",
        action="store_true",
        help="also count the CPU instructions of each side's parse of the 837P and 835, and of the "
        "finding-heavy check and pyx12, under valgrind (cachegrind): figures the machine's load does not "
        "move (pyx12's count takes minutes)",
    )
    parser.add_argument("--phase", help=argparse.SUPPRESS)
    parser.add_argument("--file", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase:
        print(json.dumps(phase(args.phase, args.file)))
        return
    if args.quick:
        args.segments, args.repeat, args.memory_segments, args.big_segments = 20_000, 1, 0, 0
        args.report_lines = min(args.report_lines, 20_000)

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    # The peers come from wheels, byte-compiled when installed; mohsedi runs from its tree, where
    # PYTHONDONTWRITEBYTECODE or a fresh checkout would make every phase compile it again.
    compileall.compile_dir(str(ROOT / "mohsedi"), quiet=1)
    header = stamp()
    print("\n".join(header), flush=True)
    groups = set(args.groups.split(","))
    peers = set(args.peers.split(","))
    if not groups <= set(GROUPS):
        parser.error(f"--groups: unknown {', '.join(sorted(groups - set(GROUPS)))}")
    if "memory" not in groups:
        args.memory_segments = 0
    if "big" not in groups:
        args.big_segments = 0
    have_openx12 = "openx12" in peers and _version("openx12") is not None
    have_oxedi = "oxedi" in peers and _version("oxedi") is not None
    pyx12_rows = "pyx12" in peers
    print(f"generating files of about {args.segments:,} segments in {out} ...", flush=True)
    f837, f835, heavy = out / "bench.837", out / "bench.835", out / "bench-findings.837"
    n837 = generate(f837, args.segments, "837")
    n835 = generate(f835, args.segments, "835")
    nheavy = generate(heavy, args.segments, "837", heavy=True)
    rows: list[dict] = []
    notes: list[str] = []

    def group(title: str, phases: list[tuple], repeat: int) -> dict[str, dict]:
        """Run the phases ``repeat`` times each, in alternating rounds; keep the fastest of each.

        pyx12's runs come after the others' rounds, the same number of them: each is half a
        minute of full CPU, and this machine runs slower for a while after one, so between the
        rounds they slowed whichever side happened to come next (mohsedi's 837P parse measured
        0.36 s in runs without them, up to 0.61 s with them)."""
        print(f"  {title} ({repeat} round{'s' if repeat > 1 else ''}) ...", flush=True)
        runs: dict[str, list[dict]] = {p[0]: [] for p in phases}
        alternating = [p for p in phases if p[0] not in LONG_RUNNING]
        after = [p for p in phases if p[0] in LONG_RUNNING]
        for round_no in range(repeat):
            order = alternating if round_no % 2 == 0 else alternating[::-1]
            for key, _label, name, path, _segments, env in order:
                result = run_phase(name, path, env)
                if result:
                    runs[key].append(result)
        for _ in range(repeat):
            for key, _label, name, path, _segments, env in after:
                result = run_phase(name, path, env)
                if result:
                    runs[key].append(result)
        best: dict[str, dict] = {}
        for key, label, _name, _path, segments, _env in phases:
            done = runs[key]
            if not done:
                continue
            result = min(done, key=lambda r: r["seconds"])
            result["cpu"] = min(r["cpu"] for r in done)
            result["peak_mb"] = max(r["peak_mb"] for r in done)
            result.update(label=label, segments=segments, runs=len(done), group=title)
            result["rate"] = segments / result["seconds"] if result["seconds"] else 0.0
            result["cpu_rate"] = segments / result["cpu"] if result["cpu"] else 0.0
            rows.append(result)
            best[key] = result
        return best

    def skipped(peer: str, what: str) -> None:
        if peer in peers:
            notes.append(f"{peer} not installed (pip install -e '.[bench]'): {what} not timed")
        else:
            notes.append(f"{peer} left out (--peers): {what} not timed")

    def peer_rows(kind: str, path: Path, segments: int) -> list[tuple]:
        """The same file for every reader: the floor, mohsedi, then each peer asked for and installed."""
        rows = [
            ("floor", "raw split", "floor", path, segments, None),
            ("ours", "mohsedi", f"ours-{kind}", path, segments, None),
        ]
        what = f"{'837P' if kind == '837' else '835'} parse"
        for peer, present, kinds in (("openx12", have_openx12, ("837", "835")), ("oxedi", have_oxedi, ("835",))):
            if kind not in kinds:
                continue
            if present:
                rows.append((peer, f"{peer} {_version(peer)}", f"{peer}-{kind}", path, segments, None))
            else:
                skipped(peer, what)
        if pyx12_rows:
            rows.append(("pyx12", "pyx12", f"pyx12-{kind}", path, segments, None))
        else:
            skipped("pyx12", what)
        return rows

    p837 = p835 = rules = fixes = stores = {}
    # 1. Parse: every reader on the same files. Imports are done before each clock starts.
    if "parse" in groups:
        group("start-up", [("startup", "mohsedi import + guides", "startup", f837, 0, None)], args.repeat)
        p837 = group("parse 837P", peer_rows("837", f837, n837), args.repeat)
        p835 = group("parse 835", peer_rows("835", f835, n835), args.repeat)

    counted: list[tuple[str, dict[str, int]]] = []  # (what, {side: instructions}), mohsedi's side first

    def count(what: str, sides: dict[str, str], path: Path) -> None:
        found = {side: count_instructions(name, path) for side, name in sides.items()}
        if None in found.values():
            notes.append(f"valgrind not installed or a count failed: {what} instructions not counted")
        else:
            counted.append((what, {side: n for side, n in found.items() if n is not None}))

    if args.instructions and "parse" in groups:
        print("  counting instructions (valgrind) ...", flush=True)
        for kind, path in (("837P", f837), ("835", f835)):
            short = kind.rstrip("P")
            sides = [
                "ours",
                *(["openx12"] if have_openx12 else []),
                *(["oxedi"] if have_oxedi and short == "835" else []),
            ]
            count(f"{kind} parse", {side: f"{side}-{short}" for side in sides}, path)

    # 2. Rules: the finding-heavy 837P (every claim has findings) and the ordinary one.
    if "rules" in groups:
        heavy_rows = [
            ("check-json", "check --format json -o", "check-json", heavy, nheavy, None),
            ("fix-db", "fix -o DIR --db", "fix-db", heavy, nheavy, None),
        ]
        if pyx12_rows:
            heavy_rows.append(("pyx12", "pyx12 (same file)", "pyx12-837", heavy, nheavy, None))
        rules = group("rules, finding-heavy 837P", heavy_rows, args.repeat)
        if args.instructions and pyx12_rows:  # pyx12 under valgrind: a few minutes
            print("  counting instructions (valgrind) ...", flush=True)
            count("finding-heavy check --format json", {"ours": "check-json", "pyx12": "pyx12-837"}, heavy)
        fixes = group(
            "check + fix, 837P",
            [
                ("check-fix", "check + fix", "check-fix", f837, n837, None),
                ("check-fix-2", "check + fix, --jobs 2", "check-fix-2", f837, n837, None),
            ],
            args.repeat,
        )

    # 3. Memory: whole commands on big files, once each (peak memory is the figure).
    if args.memory_segments:
        mem = out / "bench-memory.837"
        print(f"generating a finding-heavy file of about {args.memory_segments:,} segments ...", flush=True)
        nmem = generate(mem, args.memory_segments, "837", heavy=True)
        group(
            f"memory, finding-heavy {nmem / 1e6:.1f}M segments",
            [
                ("check-json", "check --format json -o", "check-json", mem, nmem, None),
                ("fix-db", "fix -o DIR --db", "fix-db", mem, nmem, None),
            ],
            1,
        )
        mem.unlink()
    if args.big_segments:
        big = out / "bench-big.837"
        print(f"generating a file of about {args.big_segments:,} segments ...", flush=True)
        nbig = generate(big, args.big_segments, "837")
        group(
            f"memory, {nbig / 1e6:.1f}M segments",
            [
                ("check", "check", "check-1", big, nbig, None),
                ("check-fix", "check + fix", "check-fix", big, nbig, None),
                ("check-fix-2", "check + fix, --jobs 2", "check-fix-2", big, nbig, None),
            ],
            1,
        )
        big.unlink()

    # 4. Store.
    if "store" in groups:
        sqlite_env = {"MOHSEDI_BENCH_DB": f"sqlite:///{out / 'bench-ingest.db'}"}
        ingest = [("sqlite", "ingest 835, SQLite", "ingest-sqlite", f835, n835, sqlite_env)]
        if args.postgres_url:
            pg_env = {"MOHSEDI_BENCH_DB": args.postgres_url}
            ingest.append(("postgresql", "ingest 835, PostgreSQL", "ingest-postgresql", f835, n835, pg_env))
        else:
            notes.append("no --postgres-url or $MOHSEDI_BENCH_POSTGRES_URL: PostgreSQL ingest not timed")
        stores = group("ingest", ingest, args.repeat)
        if "server_cpu" in stores.get("postgresql", {}):
            notes.append(
                f"ingest into PostgreSQL: its cpu column is mohsedi's process alone; the server's own work on the "
                f"same machine (COPY, index upkeep, keys drawn, the per-file reference check, the link's queries; "
                f"every backend of the database) took {stores['postgresql']['server_cpu']:.2f} s CPU more, beside "
                "the process's own (COPY is sent from a thread while the file is read on)"
            )
        if args.report_lines:
            report_db = out / "bench-report.db"
            report_db.unlink(missing_ok=True)
            env = {"MOHSEDI_BENCH_DB": f"sqlite:///{report_db}", "MOHSEDI_BENCH_LINES": str(args.report_lines)}
            n = args.report_lines
            group("denial report", [("build", "build a store of lines", "build-report-store", f835, n, env)], 1)
            group("denial report", [("report", "report denials (SQLite)", "report-store", f835, n, env)], args.repeat)

    lines = [*header, ""]
    lines.append("Each phase's work:")
    lines += [f"  {key:19} {text}" for key, text in WORK.items()]
    lines.append("")
    lines.append(
        f"{'group':34} {'phase':26} {'segments':>10} {'runs':>4} {'best s':>7} {'best cpu':>8} "
        f"{'segments/s':>11} {'peak MB':>8}"
    )
    for r in rows:
        lines.append(
            f"{r['group'][:34]:34} {r['label'][:26]:26} {r['segments']:>10,} {r['runs']:>4} {r['seconds']:>7.2f} "
            f"{r['cpu']:>8.2f} {r['rate']:>11,.0f} {r['peak_mb']:>8.1f}"
        )
    lines.append("")

    def ratio(label: str, a: dict | None, b: dict | None) -> None:
        if a and b and a["seconds"] and a["cpu"]:
            lines.append(f"{label}: {b['seconds'] / a['seconds']:.2f}x wall clock, {b['cpu'] / a['cpu']:.2f}x CPU time")

    for kind, best in (("837P", p837), ("835", p835)):
        for peer in ("openx12", "oxedi", "pyx12"):
            ratio(f"{kind} parse, mohsedi's speed over {peer}'s (>1: mohsedi faster)", best.get("ours"), best.get(peer))
        ratio(f"{kind} parse, mohsedi's time over the raw split floor's", best.get("floor"), best.get("ours"))
    ratio("finding-heavy check --format json, speed over pyx12's reader", rules.get("check-json"), rules.get("pyx12"))
    ratio("finding-heavy fix -o --db, speed over pyx12's reader", rules.get("fix-db"), rules.get("pyx12"))
    ratio("check + fix, --jobs 2 over --jobs 1", fixes.get("check-fix-2"), fixes.get("check-fix"))
    ratio("ingest, PostgreSQL's speed over SQLite's", stores.get("postgresql"), stores.get("sqlite"))
    for what, found in counted:
        ours = found["ours"]
        for peer, n in found.items():
            if peer != "ours":
                lines.append(
                    f"{what}, instructions: mohsedi {ours:,}, {peer} {n:,}: "
                    f"{n / ours:.2f}x as many for {peer} (>1: mohsedi does less)"
                )
    lines += [f"note: {n}" for n in notes]
    text = "\n".join(lines) + "\n"
    print()
    print(text, end="")
    if args.save:
        Path(args.save).write_text(text)
        print(f"(saved to {args.save})")


if __name__ == "__main__":
    main()
