"""Redaction of ID-card, mobile and bank-card numbers, as digits and as spoken numerals."""

from __future__ import annotations

import datetime as dt
import logging

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assist.store.privacy import Finding, RedactingFilter, Redactor

TODAY = dt.date(2025, 6, 1)

# Spoken forms: the recogniser's (Vosk) usual characters and the alternatives people use.
SPOKEN = dict(zip("0123456789X", "零幺二三四五六七八九叉", strict=True))
ALT_SPOKEN = dict(zip("0123456789X", "洞一两三四五六拐八九叉", strict=True))


def spoken(number: str, sep: str = " ", table: dict[str, str] = SPOKEN) -> str:
    return sep.join(table[c] for c in number)


# ---- independent reference implementations (not the module's) to build test numbers


def ref_id_check(first17: str) -> str:
    total = sum(int(c) * (2 ** (17 - i) % 11) for i, c in enumerate(first17))
    return "10X98765432"[total % 11]


def ref_luhn_valid(number: str) -> bool:
    digits = [int(c) for c in number]
    odd = digits[-1::-2]
    even = [sum(divmod(2 * d, 10)) for d in digits[-2::-2]]
    return (sum(odd) + sum(even)) % 10 == 0


def luhn_complete(prefix: str) -> str:
    return next(prefix + str(d) for d in range(10) if ref_luhn_valid(prefix + str(d)))


def make_id(region: str, birth: str, seq: str) -> str:
    body = region + birth + seq
    return body + ref_id_check(body)


def wrong_check(number: str) -> str:
    """Same ID with a wrong check character that is also not a valid Luhn number."""
    for c in "0123456789X":
        candidate = number[:17] + c
        if c != number[17] and not (c != "X" and ref_luhn_valid(candidate)):
            return candidate
    raise AssertionError("unreachable")


ID_X = "11010519491231002X"  # the textbook example, check character X
ID_A = make_id("440305", "19881107", "415")
ID_B = make_id("510104", "20000229", "337")  # a leap day
MOBILE = "13812345678"
CARD16 = luhn_complete("622848001234567")
CARD19 = luhn_complete("621700123456789012")


@pytest.fixture
def red() -> Redactor:
    return Redactor(today=TODAY)


def test_reference_numbers_are_what_the_tests_assume() -> None:
    assert ref_id_check(ID_X[:17]) == "X"
    assert ref_luhn_valid("4111111111111111")  # the well-known test card
    assert ref_luhn_valid(CARD16) and ref_luhn_valid(CARD19)
    assert len(CARD16) == 16 and len(CARD19) == 19


# ---------------------------------------------------------------- ID cards


@pytest.mark.parametrize("number", [ID_X, ID_A, ID_B])
def test_valid_id_digits_masked(red: Redactor, number: str) -> None:
    r = red.redact(f"我的身份证号是{number}，麻烦核实")
    assert r.text == f"我的身份证号是{number[:6]}********{number[-4:]}，麻烦核实"
    assert [f.kind for f in r.findings] == ["id_card"]


def test_lowercase_x_masked_as_upper(red: Redactor) -> None:
    r = red.redact("身份证" + ID_X.lower())
    assert r.text == "身份证110105********002X"


@pytest.mark.parametrize("number", [ID_X, ID_A])
def test_wrong_check_character_not_masked(red: Redactor, number: str) -> None:
    bad = wrong_check(number)
    r = red.redact(f"身份证{bad}")
    assert r.text == f"身份证{bad}"
    assert r.findings == ()


def test_impossible_or_future_birth_date_not_masked(red: Redactor) -> None:
    for birth in ("19881332", "19870229", "20990101", "18991231"):
        candidates = (make_id("440305", birth, f"{seq:03d}") for seq in range(100, 200))
        number = next(n for n in candidates if not ref_luhn_valid(n))  # not a bank card either
        assert red.redact(number).findings == (), number


def test_unknown_province_not_masked(red: Redactor) -> None:
    number = make_id("990305", "19881107", "415")
    assert all(f.kind != "id_card" for f in red.redact(number).findings)


def test_spoken_id_vosk_style_with_cha(red: Redactor) -> None:
    text = f"身份证号 {spoken(ID_X)} 对的"
    r = red.redact(text)
    assert r.text == "身份证号 110105********002X 对的"
    (f,) = r.findings
    assert text[f.start : f.end] == spoken(ID_X)


def test_spoken_id_alternative_numerals_without_spaces(red: Redactor) -> None:
    r = red.redact("号码是" + spoken(ID_A, sep="", table=ALT_SPOKEN) + "。")
    assert r.text == f"号码是{ID_A[:6]}********{ID_A[-4:]}。"


def test_spoken_id_wrong_check_not_masked(red: Redactor) -> None:
    text = spoken(wrong_check(ID_A))
    assert red.redact(text).text == text


def test_legacy_15_digit_id(red: Redactor) -> None:
    assert red.redact("老身份证110105491231002").text == "老身份证110105*****1002"
    # month 13: not a date
    assert red.redact("编号110105491331002").findings == ()


# ---------------------------------------------------------------- mobiles


@pytest.mark.parametrize(
    "text",
    [
        "13812345678",
        "138 1234 5678",
        "138-1234-5678",
        "１３８１２３４５６７８",
        spoken(MOBILE, sep=""),
        spoken(MOBILE),
        spoken(MOBILE, table=ALT_SPOKEN),
        "138 幺二三四 5678",
        "幺三八1234五六七八",
    ],
)
def test_mobile_forms(red: Redactor, text: str) -> None:
    r = red.redact(f"我的电话是{text}谢谢")
    assert r.text == "我的电话是138****5678谢谢"
    (f,) = r.findings
    assert f == Finding("mobile", 5, 5 + len(text))


@pytest.mark.parametrize("prefix", ["+86 ", "86", "0086", "0"])
def test_mobile_with_country_or_trunk_prefix(red: Redactor, prefix: str) -> None:
    assert red.redact(f"{prefix}13912345678").text == f"{prefix}139****5678"


def test_spoken_numerals_glued_to_the_number_stay(red: Redactor) -> None:
    assert red.redact("手机幺三八幺二三四五六七八一直打不通").text == "手机138****5678一直打不通"
    assert red.redact("打幺三八幺二三四五六七八两次了").text == "打138****5678两次了"


def test_two_numbers_in_one_run(red: Redactor) -> None:
    r = red.redact("13812345678 13912345678")
    assert r.text == "138****5678 139****5678"
    assert [f.kind for f in r.findings] == ["mobile", "mobile"]
    spaced = red.redact(spoken("13812345678") + " " + spoken("13912345678"))
    assert spaced.text == "138****5678 139****5678"


def test_trailing_group_after_a_space_is_not_part_of_the_number(red: Redactor) -> None:
    assert red.redact("手机13812345678 2号楼").text == "手机138****5678 2号楼"


@pytest.mark.parametrize(
    "text",
    [
        "12012345678",  # 12x is not a mobile prefix
        "1381234567",  # 10 digits
        "138123456789",  # 12 digits, no separator
        "010-62345678",  # Beijing landline
        "0755-12345678",
        "028 8765 4321",
    ],
)
def test_mobile_near_misses(red: Redactor, text: str) -> None:
    assert red.redact(text).text == text


# ---------------------------------------------------------------- bank cards


def test_bank_cards_16_and_19(red: Redactor) -> None:
    assert red.redact(f"卡号{CARD16}").text == f"卡号{CARD16[:4]} **** **** {CARD16[-4:]}"
    assert red.redact(f"卡号{CARD19}").text == f"卡号{CARD19[:4]} **** **** *** {CARD19[-4:]}"


def test_grouped_and_spoken_bank_card(red: Redactor) -> None:
    grouped = " ".join(CARD16[i : i + 4] for i in range(0, 16, 4))
    assert red.redact(grouped).text == f"{CARD16[:4]} **** **** {CARD16[-4:]}"
    r = red.redact("卡号是" + spoken(CARD19))
    assert r.text == f"卡号是{CARD19[:4]} **** **** *** {CARD19[-4:]}"
    assert r.findings[0].kind == "bank_card"


def test_bank_card_failing_luhn_not_masked(red: Redactor) -> None:
    bad = CARD16[:-1] + str((int(CARD16[-1]) + 1) % 10)
    assert not ref_luhn_valid(bad)
    assert red.redact(f"卡号{bad}").text == f"卡号{bad}"


# ---------------------------------------------------------------- near misses from a hotline's day


@pytest.mark.parametrize(
    "text",
    [
        "您好，这里是12345市民服务热线",
        "法律问题请拨打12348，治安问题请拨打110",
        "请拨打幺二三四五或者幺二三四八",
        "工单号12345转1",
        "我2024年5月12日反映过",
        "二零二四年五月十二日下午三点",
        "20240512",
        "罚款3500元",
        "三千五百块钱",
        "¥12,345.67",
        "验证码是382917",
        "验证码三八二九一七",
        "一二线城市虽然也处于调整中",
        "一九九四年十二月任外交安保首席秘书",
        "一一零一零五",
    ],
)
def test_hotline_near_misses_untouched(red: Redactor, text: str) -> None:
    r = red.redact(text)
    assert r.text == text
    assert r.findings == ()


# ---------------------------------------------------------------- mixed utterances, offsets, options


def test_mobile_and_id_in_one_vosk_utterance(red: Redactor) -> None:
    text = f"我 的 手 机 {spoken(MOBILE)} 身 份 证 {spoken(ID_A)} 麻 烦 登 记"
    r = red.redact(text)
    assert r.text == f"我 的 手 机 138****5678 身 份 证 {ID_A[:6]}********{ID_A[-4:]} 麻 烦 登 记"
    assert [f.kind for f in r.findings] == ["mobile", "id_card"]
    assert [text[f.start : f.end] for f in r.findings] == [spoken(MOBILE), spoken(ID_A)]
    assert r.original is None


def test_keep_originals_keeps_input_but_still_masks() -> None:
    red = Redactor(keep_originals=True, today=TODAY)
    r = red.redact(f"手机{MOBILE}")
    assert r.text == "手机138****5678"
    assert r.original == f"手机{MOBILE}"
    assert red.redact("没有号码").original is None


def test_redact_obj_and_words(red: Redactor) -> None:
    obj = {"span": {"text": f"号码{MOBILE}"}, "list": [ID_X, 3, None], "n": 1.5}
    assert red.redact_obj(obj) == {
        "span": {"text": "号码138****5678"},
        "list": ["110105********002X", 3, None],
        "n": 1.5,
    }
    words = ["我", "的", "手机", *spoken(MOBILE).split(), "谢谢"]
    assert red.redact_words(words) == ["我", "的", "手机", *["*"] * 11, "谢谢"]
    assert red.redact_words(["没有", "号码"]) == ["没有", "号码"]


def test_logging_filter_masks_formatted_message(red: Redactor, caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("test.privacy.filter")
    filt = RedactingFilter(red)
    logger.addFilter(filt)
    try:
        with caplog.at_level(logging.INFO, logger="test.privacy.filter"):
            logger.info("caller said %s", f"电话 {spoken(MOBILE)}")
    finally:
        logger.removeFilter(filt)
    assert caplog.messages == ["caller said 电话 138****5678"]


# ---------------------------------------------------------------- properties

_FILLER = st.text(alphabet="我的电话是请帮忙查询谢谢好的楼下噪音太大，。 ", max_size=20)


@settings(max_examples=200, deadline=None)
@given(
    before=_FILLER,
    after=_FILLER,
    second=st.sampled_from("3456789"),
    rest=st.text(alphabet="0123456789", min_size=9, max_size=9),
    form=st.sampled_from(["digits", "spaced", "spoken", "vosk"]),
)
def test_any_mobile_in_any_text_is_masked(before: str, after: str, second: str, rest: str, form: str) -> None:
    number = "1" + second + rest
    written = {
        "digits": number,
        "spaced": f"{number[:3]} {number[3:7]} {number[7:]}",
        "spoken": spoken(number, sep=""),
        "vosk": spoken(number),
    }[form]
    r = Redactor(today=TODAY).redact(before + written + after)
    assert number[:3] + "****" + number[7:] in r.text
    assert number not in r.text and written not in r.text
    assert any(f.kind == "mobile" for f in r.findings)


@settings(max_examples=200, deadline=None)
@given(
    text=st.text(
        alphabet=st.characters(exclude_characters="0123456789０１２３４５６７８９零〇洞一幺二两三四五六七八九拐")
    )
)
def test_text_without_digit_characters_is_unchanged(text: str) -> None:
    r = Redactor(today=TODAY).redact(text)
    assert r.text == text and r.findings == ()
