"""Chinese capital numerals for amounts (大写金额), by the banks' writing rules."""

import pytest

from service.settlements.capitals import capital_amount


@pytest.mark.parametrize(
    ("fen", "written"),
    [
        (0, "零元整"),
        (5, "伍分"),
        (50, "伍角整"),
        (1_00, "壹元整"),
        (1_05, "壹元零伍分"),
        (10_00, "壹拾元整"),
        (1409_50, "壹仟肆佰零玖元伍角整"),
        (6007_14, "陆仟零柒元壹角肆分"),
        (5625_20, "伍仟陆佰贰拾伍元贰角整"),
        (23703_06, "贰万叁仟柒佰零叁元零陆分"),
        (107000_53, "壹拾万柒仟元伍角叁分"),
        (1_000_001_00, "壹佰万零壹元整"),
        (100_010_000_00, "壹亿零壹万元整"),
        (1_0000_0000_00, "壹亿元整"),
        (-3000_00, "负叁仟元整"),
    ],
)
def test_amounts_are_written_in_capitals(fen: int, written: str) -> None:
    assert capital_amount(fen) == written
