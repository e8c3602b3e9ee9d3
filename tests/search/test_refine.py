"""The interactive `query -i` session (search/refine.py), driven through a terminal."""

import sys
from pathlib import Path

import pytest


def test_an_interactive_session_refines_undoes_and_finds_more_like_a_result(searchable):
    pexpect = pytest.importorskip("pexpect")
    child = pexpect.spawn(
        str(Path(sys.executable).parent / "dancesearch"),
        ["query", "a dance", "-i", "--library", str(searchable)],
        encoding="utf-8", timeout=60, dimensions=(50, 250),
    )  # fmt: skip
    child.expect("refine> ")
    assert "a dance [hybrid]" in child.before
    child.sendline("+genre waltz")
    child.expect("refine> ")
    rows = [line for line in child.before.splitlines() if line[:1].isdigit()]
    assert rows and all(" waltz " in line for line in rows)
    child.sendline("+tempo slow")
    child.expect("refine> ")
    child.sendline("filters")
    child.expect("refine> ")
    assert "+genre waltz +tag tempo.slow" in child.before
    child.sendline("+genre tango")
    child.expect("refine> ")
    assert "error: genre 'tango'" in child.before
    child.sendline("undo")
    child.expect("refine> ")
    child.sendline("filters")
    child.expect("refine> ")
    assert "+genre waltz" in child.before and "tempo" not in child.before
    child.sendline("more 1")
    child.expect("refine> ")
    assert "like " in child.before
    child.sendline("quit")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
