"""Chinese capital numerals for amounts (中文大写金额), as written on bills and slips.

Follows the People's Bank of China rules for writing amounts: 壹贰叁…, 拾佰仟万亿, a single
零 for a run of zeros, 元角分, and 整 when there are no 分 (e.g. 伍仟陆佰贰拾伍元贰角整).
"""

from __future__ import annotations

DIGITS = "零壹贰叁肆伍陆柒捌玖"
_PLACES = ("仟", "佰", "拾", "")
_GROUPS = ("", "万", "亿", "万亿")


def _four(group: int) -> str:
    """1..9999 without leading 零: 1005 -> 壹仟零伍, 10 -> 壹拾."""
    text = ""
    zero = False
    for place, digit in zip(_PLACES, f"{group:04d}", strict=True):
        if digit == "0":
            zero = bool(text)
            continue
        if zero:
            text += "零"
            zero = False
        text += DIGITS[int(digit)] + place
    return text


def _yuan(whole: int) -> str:
    groups: list[int] = []
    while whole:
        whole, group = divmod(whole, 10_000)
        groups.append(group)
    if len(groups) > len(_GROUPS):
        raise ValueError("amount too large to write in capitals")
    text = ""
    zero_pending = False
    for index in reversed(range(len(groups))):
        group = groups[index]
        if group == 0:
            zero_pending = bool(text)
            continue
        if text and (zero_pending or group < 1000):
            text += "零"
        text += _four(group) + _GROUPS[index]
        zero_pending = False
    return text


def capital_amount(fen: int) -> str:
    """Integer fen in capitals: 562520 -> 伍仟陆佰贰拾伍元贰角整; 5 -> 伍分; 0 -> 零元整."""
    if fen < 0:
        return "负" + capital_amount(-fen)
    whole, cents = divmod(fen, 100)
    jiao, fen_digit = divmod(cents, 10)
    head = _yuan(whole) + "元" if whole else ""
    if not jiao and not fen_digit:
        return (head or "零元") + "整"
    if not jiao:
        return head + ("零" if head else "") + DIGITS[fen_digit] + "分"
    tail = DIGITS[jiao] + "角"
    return head + tail + (DIGITS[fen_digit] + "分" if fen_digit else "整")
