"""Bad arguments get one-line messages and exit 2, never a traceback; reading commands never
create a store; values from files cannot drive the terminal."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from mohsedi.cli.main import cli
from mohsedi.text import printable
from tests.conftest import SAMPLES

OSC = "\x1b]0;owned\x07\x1b]8;;http://evil.test\x07"  # retitles the window, opens a hyperlink


def invoke(*args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(cli, list(args))


@pytest.fixture
def store(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    assert invoke("ingest", str(SAMPLES / "10-mohs-denials.835"), "--db", url, "-q").exit_code == 0
    return url


def one_line_usage_error(result) -> None:  # type: ignore[no-untyped-def]
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert not result.exception or isinstance(result.exception, SystemExit)


@pytest.mark.parametrize("span", ["99999999d", "999999999999999999999999d", "9999999y"])
def test_a_span_before_the_calendar_is_a_usage_error(store: str, span: str) -> None:
    result = invoke("report", "denials", "--since", span, "--db", store)
    one_line_usage_error(result)
    assert "before the year 1" in result.output


@pytest.mark.parametrize("revision", ["nonsense", "-7", "0001:0002"])
def test_an_unknown_revision_is_a_usage_error(tmp_path: Path, revision: str) -> None:
    result = invoke("db", "upgrade", "--revision", revision, "--db", f"sqlite:///{tmp_path / 's.db'}")
    one_line_usage_error(result)
    assert "--revision" in result.output


@pytest.mark.parametrize(
    "command",
    [["report", "denials"], ["report", "rejections"], ["audit"], ["db", "current"], ["link"]],
)
def test_reading_a_store_that_is_not_there_creates_nothing(tmp_path: Path, command: list[str]) -> None:
    path = tmp_path / "typo" / "store.db"
    result = invoke(*command, "--db", f"sqlite:///{path}")
    assert result.exit_code == 2, result.output
    assert f"no store at sqlite:///{path}" in result.output
    assert not path.exists() and not path.parent.exists()


def test_a_url_nobody_can_open_is_one_line(tmp_path: Path) -> None:
    for command in (["db", "current"], ["db", "upgrade"], ["report", "denials"]):
        result = invoke(*command, "--db", "nonsense://x")
        assert result.exit_code == 2 and "Traceback" not in result.output, result.output
        assert "nonsense" in result.output


def test_printable_escapes_what_a_terminal_would_obey() -> None:
    assert printable("MOHS-1" + OSC) == "MOHS-1\\x1b]0;owned\\x07\\x1b]8;;http://evil.test\\x07"
    assert printable("a\u202eb\x9bc\nd") == "a\\u202eb\\x9bc\\x0ad"
    assert printable("Müller-Dermatologie 17311 $5") == "Müller-Dermatologie 17311 $5"


def test_a_claim_id_with_escape_sequences_reaches_no_terminal(tmp_path: Path) -> None:
    text = (SAMPLES / "12-modifier-and-x12-errors.837").read_text()
    path = tmp_path / f"claims{OSC[:9]}.837"
    path.write_text(text.replace("CLM*MOHS-0301*", f"CLM*MOHS-0301{OSC}*", 1))
    result = invoke("check", str(path), "--format", "table", "--fail-on", "never")
    assert result.exit_code == 0, result.output
    assert "\x1b" not in result.output and "\x07" not in result.output
    assert "claim MOHS-0301\\x1b]0;owned\\x07" in result.output


def test_an_835_claim_number_with_escape_sequences_reaches_no_terminal(tmp_path: Path) -> None:
    text = (SAMPLES / "10-mohs-denials.835").read_text()
    remit = tmp_path / f"remit{OSC[:9]}.835"
    remit.write_text(text.replace("CLP*MOHS-0101*", f"CLP*MOHS-0101{OSC[:13]}*", 1))  # within CLP01's 38
    url = f"sqlite:///{tmp_path / 'store.db'}"
    ingested = invoke("ingest", str(remit), "--db", url, "--format", "table")
    report = invoke("report", "denials", "--db", url, "--format", "table")
    for result in (ingested, report):
        assert result.exit_code == 0, result.output
        assert "\x1b" not in result.output and "\x07" not in result.output
    assert "MOHS-0101\\x1b]0;owned" in report.output
