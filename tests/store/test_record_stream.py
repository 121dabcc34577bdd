"""fix records what it writes by reading it back one transaction set at a time; what it stores
must be what recording the whole fixed document stores (the --diff path holds it whole)."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from click.testing import CliRunner

from mohsedi.cli.main import cli
from tests.conftest import SAMPLES

QUERIES = {
    "claims": "SELECT f.name, c.ordinal, c.patient_control_number, c.payer_id, c.billing_npi, c.total_charge, "
    "c.diagnoses, c.clia_number, c.superseded_by_id IS NULL FROM claim c JOIN stored_file f ON f.id = c.file_id",
    "lines": "SELECT c.patient_control_number, l.line_number, l.line_id, l.procedure, l.modifiers, l.units, l.charge "
    "FROM service_line l JOIN claim c ON c.id = l.claim_id",
    "findings": "SELECT c.patient_control_number, x.line_number, x.rule, x.severity, x.fixed, x.procedure, x.message "
    "FROM finding x JOIN claim c ON c.id = x.claim_id",
    "files": "SELECT name, sha256, size, interchange_control, group_controls, command FROM stored_file",
}


def stored(url: str) -> dict[str, list[tuple]]:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        out = {k: sorted(tuple(str(v) for v in row) for row in conn.exec_driver_sql(q)) for k, q in QUERIES.items()}
    engine.dispose()
    return out


def test_streamed_record_stores_what_the_held_record_stores(tmp_path: Path) -> None:
    inputs = [str(p) for p in sorted(SAMPLES.glob("*.837"))]
    urls = {}
    for way, extra in (("held", ["--diff"]), ("streamed", [])):
        urls[way] = f"sqlite:///{tmp_path / way}.db"
        result = CliRunner().invoke(
            cli,
            [
                "fix",
                *inputs,
                "-o",
                str(tmp_path / way),
                "--db",
                urls[way],
                "--format",
                "json",
                "--unsafe-fixes",
                *extra,
            ],
        )
        assert result.exit_code in (0, 1), result.output
    held, streamed = stored(urls["held"]), stored(urls["streamed"])
    assert len(held["claims"]) == 37 and len(held["findings"]) > 20  # every sample 837P claim
    assert any(row[4] == "True" or row[4] == "1" for row in held["findings"])  # some were fixed
    assert streamed == held


def test_record_stores_nothing_from_a_file_it_cannot_read_or_that_is_cut_short(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    garbage = tmp_path / "garbage.837"
    garbage.write_text("this is not X12")
    text = (SAMPLES / "10-mohs-coding-errors.837").read_text()
    cut = tmp_path / "cut.837"
    cut.write_text(text[: len(text) // 2])  # no SE, GE or IEA
    good = str(SAMPLES / "13-mue-errors.837")
    result = CliRunner().invoke(cli, ["record", str(garbage), str(cut), good, "--db", url])
    assert result.exit_code == 2
    assert str(garbage) in result.stderr and str(cut) in result.stderr
    assert f"{good}: 1 claim(s) recorded" in result.stdout
    files = stored(url)["files"]
    assert [row[0] for row in files] == [good]  # the unreadable and the cut file stored nothing
    assert len(stored(url)["claims"]) == 1


def test_check_and_fix_into_a_store_keep_nothing_of_a_file_cut_short(tmp_path: Path) -> None:
    text = (SAMPLES / "10-mohs-coding-errors.837").read_text()
    cut = tmp_path / "cut.837"
    cut.write_text(text[: len(text) // 2])
    good = str(SAMPLES / "13-mue-errors.837")
    for n, command in enumerate(
        (["check"], ["fix", "-o", str(tmp_path / "a")], ["fix", "-o", str(tmp_path / "b"), "--diff"])
    ):
        url = f"sqlite:///{tmp_path / str(n)}.db"
        result = CliRunner().invoke(cli, [*command, str(cut), good, "--db", url, "--format", "json"])
        assert result.exit_code == 2, (command, result.output)  # the cut file is reported
        assert [row[0] for row in stored(url)["files"]] == [good], command


def _superseded(url: str) -> list[tuple[str, int, str | None, int | None]]:
    """(file, ordinal, CLM01, the file and ordinal of the claim that superseded it) per stored claim."""
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        rows = conn.exec_driver_sql(
            "SELECT f.name, c.ordinal, c.patient_control_number, nf.name, n.ordinal FROM claim c "
            "JOIN stored_file f ON f.id = c.file_id LEFT JOIN claim n ON n.id = c.superseded_by_id "
            "LEFT JOIN stored_file nf ON nf.id = n.file_id WHERE c.patient_control_number = 'MOHS-0001' "
            "ORDER BY c.id"
        ).all()
    engine.dispose()
    return [tuple(r) for r in rows]


def test_a_claim_recorded_again_points_to_the_newest_never_to_its_own_file(store_url: str, tmp_path: Path) -> None:
    """Corrected claims (section 4a): a claim recorded again later (same billing NPI and CLM01)
    points to the newest one of the later file. Claims of one file never supersede each other:
    CLM01 is often a reused account number, and hiding one would drop its findings from audits
    and predictions."""
    from mohsedi.pipeline import run_record

    text = (SAMPLES / "01-mohs-clean.837").read_text()
    first = tmp_path / "first.837"
    first.write_text(text, newline="")
    # The same claims sent again, MOHS-0001 twice (its original and a replacement in one file).
    segments = text.split("~")
    start = next(i for i, s in enumerate(segments) if s.strip().startswith("CLM*MOHS-0001*"))
    hl = max(i for i in range(start) if segments[i].strip().startswith("HL*"))
    end = next(
        (i for i in range(start + 1, len(segments)) if segments[i].strip().startswith(("HL*", "SE*"))), len(segments)
    )
    claim = segments[hl:end]
    assert claim[0].strip().startswith("HL*") and any(s.strip().startswith("CLM*MOHS-0001*") for s in claim)
    again = tmp_path / "again.837"
    again.write_text("~".join(segments[:end] + claim + segments[end:]), newline="")
    for path in (first, again):
        [report] = run_record([str(path)], store_url)
        assert report.error is None
    rows = _superseded(store_url)
    assert [(r[0], r[2]) for r in rows] == [
        (str(first), "MOHS-0001"),
        (str(again), "MOHS-0001"),
        (str(again), "MOHS-0001"),
    ]
    newest = (str(again), rows[2][1])
    assert [r[3:] for r in rows] == [newest, (None, None), (None, None)]


def test_fix_writes_nothing_when_the_store_cannot_record(tmp_path: Path) -> None:
    """A store whose schema is behind the code: fix stops before writing the outbox, so no
    claim leaves unrecorded (its remittances could never be linked)."""
    url = f"sqlite:///{tmp_path / 'old.db'}"
    runner = CliRunner()
    assert runner.invoke(cli, ["db", "upgrade", "--db", url, "--revision", "0005"]).exit_code == 0
    out = tmp_path / "outbox"
    result = runner.invoke(cli, ["fix", str(SAMPLES / "10-mohs-coding-errors.837"), "-o", str(out), "--db", url, "-q"])
    assert result.exit_code == 2
    assert "mohsedi db upgrade" in result.output
    assert not out.exists() or not any(out.iterdir())


def test_standard_input_is_stored_as_a_dash(tmp_path: Path) -> None:
    """`check - --db` reads standard input through a temporary file; the store names the file
    "-" as the report does, never the temporary file's path."""
    url = f"sqlite:///{tmp_path / 'store.db'}"
    text = (SAMPLES / "01-mohs-clean.837").read_bytes()
    result = CliRunner().invoke(cli, ["check", "-", "--db", url, "--fail-on", "never", "-q"], input=text)
    assert result.exit_code == 0, result.output
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        names = [row[0] for row in conn.exec_driver_sql("SELECT name FROM stored_file")]
    engine.dispose()
    assert names == ["-"]
