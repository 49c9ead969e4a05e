"""pixelmatch 7.2.0 conformance: every reference case, counts and diff images."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from rb.commands.diff import diff
from rb.errors import UsageError
from rb.imagediff import decode_png, pixelmatch

from .conftest import ROOT

CONFORMANCE = ROOT.parent / "shared" / "conformance" / "pixelmatch"
OPTION_NAMES = {
    "threshold": "threshold",
    "includeAA": "include_aa",
    "alpha": "alpha",
    "aaColor": "aa_color",
    "diffColor": "diff_color",
    "diffColorAlt": "diff_color_alt",
    "diffMask": "diff_mask",
}


def cases() -> list[dict[str, Any]]:
    if not (CONFORMANCE / "cases.json").exists():
        return []
    data = json.loads((CONFORMANCE / "cases.json").read_text())
    return [c for c in data["cases"] if c["expected"]["v7.2.0"] is not None]


def image(relative: str) -> Any:
    return decode_png((CONFORMANCE / relative).read_bytes())


def test_the_conformance_vectors_are_present() -> None:
    assert len(cases()) == 12, f"expected pixelmatch test vectors in {CONFORMANCE}"


@pytest.mark.parametrize("case", cases(), ids=lambda c: c["id"])
def test_counts_and_diff_images_equal_the_reference(case: dict[str, Any]) -> None:
    options = {
        OPTION_NAMES[k]: tuple(v) if isinstance(v, list) else v
        for k, v in case["options"].items()
        if v is not None
    }
    a, b = image(case["a"]), image(case["b"])
    result = pixelmatch(a, b, **options)
    assert result.mismatched == case["expected"]["v7.2.0"]
    expected = image(case["expected_diff_png"]["v7.2.0"])
    assert np.array_equal(result.diff, expected)
    assert pixelmatch(a, b, output=False, **options).mismatched == result.mismatched


def test_rb_diff_text_json_output_and_fail_over(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a, b = str(CONFORMANCE / "fixtures" / "1a.png"), str(CONFORMANCE / "fixtures" / "1b.png")
    out = tmp_path / "diff.png"
    assert diff(a, b, threshold=0.05, output=str(out)) == 0
    assert capsys.readouterr().out.startswith("143 of ")
    assert np.array_equal(decode_png(out.read_bytes()), image("diffs/v7.2.0/1diff.png"))
    assert diff(a, b, threshold=0.05, output_format="json") == 0
    report = json.loads(capsys.readouterr().out)
    assert report["mismatched"] == 143 and report["total"] == report["width"] * report["height"]
    assert diff(a, b, threshold=0.05, fail_over=0.0001) == 1
    capsys.readouterr()


def test_rb_diff_errors(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="cannot read"):
        diff(str(tmp_path / "missing.png"), str(CONFORMANCE / "fixtures" / "1a.png"))
    text = tmp_path / "not.png"
    text.write_text("hello")
    with pytest.raises(UsageError, match="is not a PNG image"):
        diff(str(text), str(CONFORMANCE / "fixtures" / "1a.png"))
    with pytest.raises(UsageError, match="images differ in size"):
        diff(str(CONFORMANCE / "fixtures" / "1a.png"), str(CONFORMANCE / "fixtures" / "2a.png"))
