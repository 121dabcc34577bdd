"""`make bench`: our parser against pyx12's reader on the same generated files, in one run.

Each phase runs in its own process so its peak memory (ru_maxrss) is its own. The
figures to read are the ratios: these machines are noisy, so absolute rates move.

    python bench/run.py                      # about 1M segments per file
    python bench/run.py --segments 200000    # quicker
    python bench/run.py --pyx12-segments 100000  # time pyx12 on a prefix-sized file only
    python bench/run.py --repeat 1           # each mohsedi phase once (default: fastest of 3)
    python bench/run.py --big-segments 0     # skip the 10M-segment check/fix (memory) timings
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from mohsedi import synth  # noqa: E402

SEGMENTS_PER_CLAIM_837 = 23  # measured on random_mohs_claim output
SEGMENTS_PER_CLAIM_835 = 19


def generate(path: Path, segments: int, kind: str, seed: int = 7) -> int:
    """Write a generated file of about ``segments`` segments; return the exact count."""
    rng = random.Random(seed)
    per_claim = SEGMENTS_PER_CLAIM_837 if kind == "837" else SEGMENTS_PER_CLAIM_835
    count = max(1, segments // per_claim)
    claims = (synth.random_mohs_claim(rng, n) for n in range(count))
    if kind == "837":
        chunks = synth.iter_837p(claims, synth.Envelope837(), claims_per_transaction=1000)
    else:
        payments = (synth.random_payment(rng, c) for c in claims)
        chunks = synth.iter_835(payments, synth.Envelope835(), claims_per_transaction=1000)
    total = 0
    tmp = path.with_suffix(path.suffix + ".tmp")
    with open(tmp, "w", newline="") as fh:
        for chunk in chunks:
            total += chunk.count("~")
            fh.write(chunk)
    os.replace(tmp, path)
    return total


def phase(name: str, path: str) -> dict:
    """Run one timed phase in this process and report it."""
    if not name.startswith("pyx12"):
        from mohsedi.runtime import tune_for_batches

        tune_for_batches()  # as the mohsedi command does
    start = time.perf_counter()
    cpu_start = _cpu()
    items = 0
    if name == "floor":
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
    elif name.startswith("ingest-"):
        import os

        from mohsedi.store.db import downgrade, open_store
        from mohsedi.store.ingest import ingest_file

        os.environ.setdefault("MOHSEDI_SECRET", "bench")
        url = os.environ["MOHSEDI_BENCH_DB"]
        if name == "ingest-postgresql":
            downgrade(url, "base")  # a clean schema, so the file is not already stored
        engine = open_store(url)
        start = time.perf_counter()  # the clocks start after migrating the empty store
        cpu_start = _cpu()
        items = ingest_file(engine, path).service_payments
        engine.dispose()
    elif name == "report-store":
        import os

        from mohsedi.reports.denials import Period, root_cause_report
        from mohsedi.reports.periods import parse_day
        from mohsedi.store.db import open_store

        engine = open_store(os.environ["MOHSEDI_BENCH_DB"])
        start = time.perf_counter()  # the store was built by the previous phase
        cpu_start = _cpu()
        report = root_cause_report(engine, Period(parse_day("365d"), None))
        items = report["totals"]["denials"]
    elif name == "build-report-store":
        import os

        sys.path.insert(0, str(ROOT / "bench"))
        from report_store import build

        from mohsedi.store.db import open_store

        items = build(open_store(os.environ["MOHSEDI_BENCH_DB"]), int(os.environ["MOHSEDI_BENCH_LINES"]))
    elif name.startswith("check-fix"):
        # As `mohsedi fix FILE -o DIR --jobs N` runs it, writing the fixed file.
        import tempfile

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
    seconds = time.perf_counter() - start
    cpu = _cpu() - cpu_start
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # With --jobs the workers hold the transaction sets: the largest process is what must fit.
    peak_kb = max(peak_kb, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
    return {"phase": name, "seconds": seconds, "cpu": cpu, "items": items, "peak_mb": peak_kb / 1024}


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--segments", type=int, default=1_000_000, help="segments per generated file")
    parser.add_argument(
        "--pyx12-segments", type=int, default=0, help="time pyx12 on a separate file of this size (0: the same file)"
    )
    parser.add_argument("--out", default=str(ROOT / "bench" / "out"))
    parser.add_argument(
        "--repeat",
        type=int,
        default=3,
        help="runs of each mohsedi phase, the fastest kept (the machine is noisy; pyx12 runs once)",
    )
    parser.add_argument(
        "--report-lines",
        type=int,
        default=1_000_000,
        help="service lines in the generated store the denial report is timed on",
    )
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("MOHSEDI_BENCH_POSTGRES_URL"),
        help="PostgreSQL database for the ingest timing (its mohsedi tables are dropped and "
        "recreated); default $MOHSEDI_BENCH_POSTGRES_URL, else that timing is skipped",
    )
    parser.add_argument(
        "--big-segments",
        type=int,
        default=10_000_000,
        help="also time check and check + fix (1 and 2 jobs) on a file of this many segments, for "
        "memory; pyx12 is not run on it (0: skip)",
    )
    parser.add_argument("--phase", help=argparse.SUPPRESS)
    parser.add_argument("--file", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase:
        print(json.dumps(phase(args.phase, args.file)))
        return

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    print(f"generating files of about {args.segments:,} segments in {out} ...", flush=True)
    f837, f835 = out / "bench.837", out / "bench.835"
    n837 = generate(f837, args.segments, "837")
    n835 = generate(f835, args.segments, "835")
    small837 = out / "bench-quarter.837"
    n_small = generate(small837, args.segments // 4, "837")
    pyx837, pyx835, npyx837, npyx835 = f837, f835, n837, n835
    if args.pyx12_segments:
        pyx837, pyx835 = out / "pyx12.837", out / "pyx12.835"
        npyx837 = generate(pyx837, args.pyx12_segments, "837")
        npyx835 = generate(pyx835, args.pyx12_segments, "835")

    rows = []

    def record(label: str, name: str, path: Path, segments: int, env: dict | None = None) -> dict | None:
        print(f"  timing {label} ...", flush=True)
        once = name.startswith(("pyx12", "ingest", "build")) or args.repeat < 2 or path.name == "bench-big.837"
        runs = [run_phase(name, path, env) for _ in range(1 if once else args.repeat)]
        runs = [r for r in runs if r]
        result = min(runs, key=lambda r: r["seconds"]) if runs else None
        if result:
            result["label"] = label
            result["segments"] = segments
            result["rate"] = segments / result["seconds"] if result["seconds"] else 0.0
            result["cpu_rate"] = segments / result["cpu"] if result["cpu"] else 0.0
            rows.append(result)
        return result

    floor = record("raw split floor (837P)", "floor", f837, n837)
    ours837 = record("mohsedi parse to loop objects (837P)", "ours-837", f837, n837)
    quarter = record("mohsedi parse, quarter-size 837P", "ours-837", small837, n_small)
    pyx837r = record("pyx12 X12ContextReader (837P)", "pyx12-837", pyx837, npyx837)
    ours835 = record("mohsedi parse to loop objects (835)", "ours-835", f835, n835)
    pyx835r = record("pyx12 X12ContextReader (835)", "pyx12-835", pyx835, npyx835)
    checkfix = record("mohsedi check + fix (837P)", "check-fix", f837, n837)
    checkfix2 = record("mohsedi check + fix, --jobs 2 (837P)", "check-fix-2", f837, n837)
    big = bigfix = big2 = None
    if args.big_segments:
        big837 = out / "bench-big.837"
        print(f"generating a file of about {args.big_segments:,} segments ...", flush=True)
        n_big = generate(big837, args.big_segments, "837")
        big = record(f"mohsedi check, {n_big / 1e6:.1f}M segments", "check-1", big837, n_big)
        bigfix = record(f"mohsedi check + fix, {n_big / 1e6:.1f}M segments", "check-fix", big837, n_big)
        big2 = record(f"mohsedi check + fix, --jobs 2, {n_big / 1e6:.1f}M segments", "check-fix-2", big837, n_big)
        big837.unlink()

    sqlite_db = out / "bench-ingest.db"
    sqlite_db.unlink(missing_ok=True)
    record(
        "mohsedi ingest 835 into SQLite", "ingest-sqlite", f835, n835, {"MOHSEDI_BENCH_DB": f"sqlite:///{sqlite_db}"}
    )
    if args.postgres_url:
        record(
            "mohsedi ingest 835 into PostgreSQL",
            "ingest-postgresql",
            f835,
            n835,
            {"MOHSEDI_BENCH_DB": args.postgres_url},
        )
    else:
        print("  (no --postgres-url or $MOHSEDI_BENCH_POSTGRES_URL: PostgreSQL ingest not timed)")

    report_db = out / "bench-report.db"
    report_db.unlink(missing_ok=True)
    env = {"MOHSEDI_BENCH_DB": f"sqlite:///{report_db}", "MOHSEDI_BENCH_LINES": str(args.report_lines)}
    record(f"build a store of {args.report_lines:,} service lines", "build-report-store", f835, args.report_lines, env)
    record(f"report denials over {args.report_lines:,} lines (SQLite)", "report-store", f835, args.report_lines, env)

    print()
    print(f"{'phase':44} {'segments':>10} {'seconds':>8} {'cpu s':>8} {'segments/s':>11} {'peak MB':>8}")
    for r in rows:
        print(
            f"{r['label']:44} {r['segments']:>10,} {r['seconds']:>8.2f} {r['cpu']:>8.2f} "
            f"{r['rate']:>11,.0f} {r['peak_mb']:>8.1f}"
        )
    print()

    def ratio(a: dict | None, b: dict | None, label: str) -> None:
        if a and b and b["rate"] and b["cpu_rate"]:
            print(f"{label}: {a['rate'] / b['rate']:.1f}x wall clock, {a['cpu_rate'] / b['cpu_rate']:.1f}x CPU time")

    ratio(ours837, pyx837r, "speed-up over pyx12's reader, 837P parse")
    ratio(ours835, pyx835r, "speed-up over pyx12's reader, 835 parse")
    ratio(checkfix, pyx837r, "speed-up over pyx12's reader, 837P check + fix")
    ratio(checkfix2, pyx837r, "speed-up over pyx12's reader, 837P check + fix, --jobs 2")
    if checkfix and checkfix2:
        print(f"check + fix, --jobs 2 over --jobs 1: {checkfix['seconds'] / checkfix2['seconds']:.2f}x faster")
    for r in (big, bigfix, big2):
        if r:
            print(f"{r['label']}: {r['seconds']:.1f} s, peak memory {r['peak_mb']:.0f} MB (the largest process)")
    if bigfix and big2:
        print(f"check + fix of the big file, --jobs 2 over --jobs 1: {bigfix['seconds'] / big2['seconds']:.2f}x faster")
    if floor and ours837:
        print(f"parse cost over the raw split floor: {floor['rate'] / ours837['rate']:.1f}x")
    if quarter and ours837:
        print(
            f"peak memory, full vs quarter-size file: {ours837['peak_mb']:.1f} MB vs "
            f"{quarter['peak_mb']:.1f} MB (streaming per transaction set)"
        )


if __name__ == "__main__":
    main()
