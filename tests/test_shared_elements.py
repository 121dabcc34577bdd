"""Segments with the same text share one tuple of elements (Segment.__init__ splits each text
once per delimiters): nothing can change it in place, or every segment with that text would
change with it. A check and a fix of the finding-heavy batch (every rule, safe and unsafe fixes)
must leave every shared tuple equal to its text split again."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

import mohsedi.x12.segments as segments_module
from mohsedi.cli.main import cli
from mohsedi.x12.delimiters import Delimiters, sniff_delimiters
from mohsedi.x12.segments import Segment
from tests.conftest import SAMPLES
from tests.test_pinned_outcomes import HEAVY, SCENARIOS


def test_segments_with_one_text_share_their_elements_and_an_edit_gives_one_its_own() -> None:
    delimiters = Delimiters()
    one, two = Segment("LX*1", "~", delimiters), Segment("LX*1", "~", delimiters)
    assert one.elements is two.elements and one.elements == ("LX", "1")
    one.set_elements(["LX", "2"])
    assert (one.text, one.elements, two.text, two.elements) == ("LX*2", ("LX", "2"), "LX*1", ("LX", "1"))
    other = Segment("LX*1", "~", Delimiters(element="|"))  # the same text under another separator
    assert other.elements == ("LX*1",)


def test_shared_elements_cannot_be_changed_in_place() -> None:
    """A rule that wrote into a segment's elements would change every segment with its text: it
    fails loudly instead."""
    delimiters = Delimiters()
    one, two = Segment("LX*1", "~", delimiters), Segment("LX*1", "~", delimiters)
    with pytest.raises(TypeError):
        one.elements[1] = "2"  # type: ignore[index]
    assert two.text == "LX*1" and two.elements == ("LX", "1")


def test_the_shared_lists_are_bounded() -> None:
    delimiters = Delimiters()
    for n in range(segments_module.SPLIT_CACHE_LIMIT + 10):
        Segment(f"REF*6R*{n}", "~", delimiters)
    assert len(delimiters.splits) <= segments_module.SPLIT_CACHE_LIMIT


@pytest.mark.parametrize("name", ["check-policy", "fix-unsafe", "fix-clia"])
def test_no_check_or_fix_changes_a_shared_list_in_place(name: str, tmp_path: Path, monkeypatch) -> None:
    seen: list[Delimiters] = []

    def recording(*args, **kwargs) -> Delimiters:
        delimiters = sniff_delimiters(*args, **kwargs)
        seen.append(delimiters)  # kept alive, with the lists its segments shared
        return delimiters

    monkeypatch.setattr(segments_module, "sniff_delimiters", recording)
    args = list(SCENARIOS[name])
    if args[0] == "fix":
        args += ["-o", str(tmp_path)]
    inputs = [HEAVY, *sorted(SAMPLES.glob("*.837"))]
    result = CliRunner().invoke(cli, [*args, "--format", "json", "--fail-on", "never", *map(str, inputs)])
    assert result.exit_code == 0, result.output
    checked = 0
    for delimiters in seen:
        for text, elements in delimiters.splits.items():
            assert elements == tuple(text.split(delimiters.element)), text
            checked += 1
    assert checked > 1000
