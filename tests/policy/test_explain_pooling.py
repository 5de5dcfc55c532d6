"""`settlecheck policy explain` is unchanged by the service's new inputs: a document's `pooling`
level is the service's to apply (it decides `in_pooling_region` from the counties); explain
still takes the fact from `--in-pooling-region` and prints the same trace."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

S1 = Path(__file__).resolve().parent / "examples" / "S1-pooling-region-tiers.yaml"


def _explain(path: Path, capsys: pytest.CaptureFixture[str], *flags: str) -> str:
    from service import cli

    argv = ["policy", "explain", str(path), "--bill", "10000.00,10000.00,0.00", *flags]
    assert cli.main(argv) == 0
    return capsys.readouterr().out


@pytest.mark.parametrize(("inside", "paid"), [("yes", "7600.00"), ("no", "7125.00")])
def test_a_pooling_level_in_the_document_leaves_explain_as_it_was(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], inside: str, paid: str
) -> None:
    pooled = tmp_path / "S1-pooled-by-county.yaml"
    pooled.write_text(S1.read_text(encoding="utf-8") + "pooling: county\n", encoding="utf-8")
    flags = ("--location", "out_of_county", "--in-pooling-region", inside)
    plain = _explain(S1, capsys, *flags)
    # (10000 - 500) x 0.80 inside the pooling region, x 0.75 elsewhere in the province
    assert re.search(rf"basic_insurance\s.*{paid}", plain)
    hash_ = re.compile(r"[0-9a-f]{12}")  # the documents differ by a line: so do their hashes
    assert hash_.sub("", _explain(pooled, capsys, *flags)) == hash_.sub("", plain)
