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
    assert len(held["claims"]) == 35 and len(held["findings"]) > 20
    assert any(row[4] == "True" or row[4] == "1" for row in held["findings"])  # some were fixed
    assert streamed == held
