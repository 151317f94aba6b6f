"""The caller's answer to a safety question (assist/nlp/referral.py ``opens_with_denial``, ``denies_danger``;
data: referrals.toml ``[safety_answers]``)."""

from __future__ import annotations

import pytest

from assist.nlp.data import DEFAULT_DATA_DIR
from assist.nlp.referral import ReferralTable


@pytest.fixture(scope="module")
def table() -> ReferralTable:
    return ReferralTable.load(DEFAULT_DATA_DIR / "referrals.toml")


@pytest.mark.parametrize("text", [
    "哎,没事没事,我就是随口一说,就是着急。你就告诉我现在怎么办?",  # trial 5, g
    "没有没有,我就问问",
    "唉,我就是说的气话,身份证到底去哪补?",
    "开个玩笑的,你别当真",
])
def test_denials(table: ReferralTable, text: str) -> None:
    assert table.opens_with_denial(text)


@pytest.mark.parametrize("text", [
    "我不是随口一说,我真的不想活了",
    "可不是随口说说的,药我都准备好了",
    "我在家呢",
    "想过好几回了",
])
def test_not_denials(table: ReferralTable, text: str) -> None:
    assert not table.opens_with_denial(text)
