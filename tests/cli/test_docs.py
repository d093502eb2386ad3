"""The generated blocks of docs/*.md match what the code generates now."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

import pytest

from sdei.cli import gendocs
from sdei.firmware import Rules

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("name", gendocs.DOC_FILES)
def test_generated_blocks_are_current(name: str) -> None:
    text = (REPO / name).read_text(encoding="utf-8")
    assert gendocs.blocks(text), f"{name} has no generated blocks"
    assert gendocs.regenerate(text) == text, f"{name} is stale: run python -m sdei.cli.gendocs"


def test_docs_hold_the_expected_blocks() -> None:
    abi = (REPO / "docs/abi.md").read_text(encoding="utf-8")
    profiles = (REPO / "docs/profiles.md").read_text(encoding="utf-8")
    assert gendocs.blocks(abi) == ["functions", "status", "states-table", "states-diagram"]
    assert gendocs.blocks(profiles) == ["profile-rules", "profile-platform"]


def test_every_profile_rule_is_explained() -> None:
    profiles = (REPO / "docs/profiles.md").read_text(encoding="utf-8")
    for field in fields(Rules):
        if field.name != "name":
            assert f"\n### {field.name}\n" in profiles, f"docs/profiles.md: explain {field.name}"


def test_check_mode_passes_on_the_repository() -> None:
    assert gendocs.main(["--check", "--root", str(REPO)]) == 0


def test_regenerate_fills_an_empty_block() -> None:
    text = "intro\n<!-- BEGIN GENERATED: status -->\n<!-- END GENERATED: status -->\nend\n"
    out = gendocs.regenerate(text)
    assert "| DENIED | -3 |" in out
    assert out.startswith("intro\n") and out.endswith("end\n")
    assert gendocs.regenerate(out) == out


def test_unknown_block_is_refused() -> None:
    with pytest.raises(gendocs.GenDocsError, match="no generator"):
        gendocs.regenerate("<!-- BEGIN GENERATED: nope -->\n<!-- END GENERATED: nope -->\n")


def test_unpaired_marker_is_refused() -> None:
    with pytest.raises(gendocs.GenDocsError, match="without a matching END"):
        gendocs.regenerate("<!-- BEGIN GENERATED: status -->\nno end\n")


def test_check_mode_reports_a_stale_doc(tmp_path: Path) -> None:
    doc = tmp_path / "doc.md"
    doc.write_text("<!-- BEGIN GENERATED: status -->\nold\n<!-- END GENERATED: status -->\n")
    assert gendocs.main(["--check", "--root", str(tmp_path), "doc.md"]) == 1
    assert gendocs.main(["--root", str(tmp_path), "doc.md"]) == 0
    assert "old" not in doc.read_text()
    assert gendocs.main(["--check", "--root", str(tmp_path), "doc.md"]) == 0
