"""What a model-only crisis sign quotes and marks (assist/nlp/weaksigns.py ``heard``, ``quoted``)."""

from __future__ import annotations

import pytest

from assist.nlp.tokenize import Tokenizer
from assist.nlp.weaksigns import HEARD_SIDE, WeakSigns, quoted


@pytest.fixture(scope="module")
def signs() -> WeakSigns:
    return WeakSigns.load()


def words(signs: WeakSigns, text: str) -> str | None:
    at = signs.heard(text)
    return text[at[0]:at[1]] if at is not None else None


def test_the_clause_of_the_cue_is_quoted(signs: WeakSigns) -> None:
    assert words(signs, "公积金的事先不说了,存折密码我都交代好了,以后她用得着。") == "存折密码我都交代好了"


def test_a_farewell_is_quoted_before_a_cue(signs: WeakSigns) -> None:
    assert words(signs, "我一个人过,退休金我都留给闺女了再见") == "退休金我都留给闺女了再见"


def test_means_or_a_place_of_danger_is_quoted_before_a_farewell(signs: WeakSigns) -> None:
    """New-user trial 7, t1: the card quoted 「床上一躺谁也不麻烦」, not the pills saved up."""
    quoted = words(signs, "我这辈子也就这样了,安眠药我攒了好几瓶了,到时候往床上一躺谁也不麻烦")
    assert quoted is not None and "安眠药" in quoted and "床上" not in quoted


def test_recognizer_text_is_cut_around_the_cue(signs: WeakSigns) -> None:
    text = "就是那个社保的事情反正最近总在想一些不好的事情你们也别打回访了"
    found = signs.heard(text)
    assert found is not None
    start, end = found
    cue = text.index("不好的事")
    assert start == cue - HEARD_SIDE and end == cue + len("不好的事") + HEARD_SIDE


def test_hyperbole_and_routine_words_are_not_quoted(signs: WeakSigns) -> None:
    assert words(signs, "排队排了一上午,真是愁死了,社保卡到底什么时候能办好?") is None
    assert words(signs, "我想问一下公积金提取需要什么材料") is None


def test_quoted_format() -> None:
    assert quoted([]) == ""
    assert quoted(["想过好几回了", "就是累了"]) == ":「想过好几回了」「就是累了」"


def test_more_farewell_cues(signs: WeakSigns) -> None:
    """Trial 5, a: 我这些天把家里的东西都收拾好了,存折和钥匙都放在桌上了,你们以后也不用再为我操心了."""
    for text in ("存折和钥匙都放在桌上了", "你们以后也不用再为我操心了", "我把家里的东西都收拾好了"):
        assert signs.cue(text), text


def test_not_to_be_found_again_is_a_farewell_a_new_number_or_a_move_is_not(signs: WeakSigns) -> None:
    """Stop 18: model 20261207-72ede1d5 put 0.29 on 谁跟你开玩笑的,明天你们就再也找不到我了 (under its threshold)."""
    assert signs.farewell("谁跟你开玩笑的,明天你们就再也找不到我了")
    assert signs.farewell("以后大家再也见不到我了")
    assert not signs.farewell("换了号你们就再也找不到我了")
    assert not signs.farewell("我下个月搬走了,你们就再也找不到我了")
    # the independent review of stop 18: the number or the move said in more words, anywhere in the sentence
    assert not signs.farewell("我换了手机号码你们就再也找不到我了")
    assert not signs.farewell("我下个月就搬去海南了,以后你们就再也找不到我了")
    assert signs.farewell("我想了很久.明天你们就再也找不到我了")
    # ... only the farewell's own clause or the one before: an eviction is a trigger, not a move (review of stop 19)
    assert signs.farewell("房东让我搬走,我没地方去了,明天你们就再也找不到我了")
    assert signs.farewell("厂里停了我的工资,打电话也没人接,你们永远也见不到我了")


def test_a_province_or_a_trip_is_no_place_of_danger(signs: WeakSigns) -> None:
    """去海南 was a grave cue (去海): provinces, cities and trips are not the sea or a river."""
    for text in ("我下个月就搬去海南了", "我要去河南打工", "去湖北看我女儿", "俺家今年冬天去海南过年", "去江阴",
                 "周末去海边度假"):
        assert not signs.cue(text), text
    for text in ("我想去河里", "我现在就去江边", "我想去海里一了百了", "我想跳河一了百了", "我就想去海边坐坐"):
        assert signs.cue(text), text


def test_the_callers_next_step_is_a_plan_not_a_sign(signs: WeakSigns) -> None:
    """Trial 7: a polite closing drew the safety question from the crisis-bank similarity net."""
    assert signs.plans_ahead("那我今天晚上就在手机上弄,弄不明白再打电话问你们")
    assert signs.plans_ahead("行那我明天再打过来问问")
    assert not signs.plans_ahead("我再打电话问你们也没用了")
    # the retired blind v15's false flags: an errand next, nothing left to ask
    assert signs.plans_ahead("行,那就麻烦你们了,我没别的事了,谢谢姑娘,挂了啊,再见.")
    assert signs.plans_ahead("好的,我明白了,那我就先走了啊,不打扰你们了,你们也早点下班.")
    assert signs.plans_ahead("那我就不打扰你了我先去医院拿药了拜拜")
    assert not signs.plans_ahead("我今年七十九了腿脚不行了不想再给孩子添麻烦了")


def test_a_bare_opener_is_the_whole_line_naming_whom_the_call_is_about(signs: WeakSigns) -> None:
    assert signs.bare_opener("我想反映一下我们楼里有个老人")
    assert signs.bare_opener("你好,我想问个事,我们村里有个孩子")
    assert not signs.bare_opener("我想反映一下我们楼里有个老人摔倒了")
    assert not signs.bare_opener("我想反映一下楼顶上有个人")


def test_a_legal_matter_is_routine(signs: WeakSigns) -> None:
    """The sample legal-dispute call: a 0.81 self-harm guess on a debt and a lawsuit is soft (the general question)."""
    assert signs.not_a_sign("还有个事我朋友欠我三万块钱一直不还我想起诉他太气人了")
    assert not signs.not_a_sign("欠了一屁股债,起诉也没用,我不想活了")  # a cue of its own


def test_grievances_threats_and_grave_cues_are_told_apart() -> None:
    """Trial 6: a threat to go public is no sign (c4), the caller who threatens gets the threat question (p2), and
    only grave words (a place of danger, means, a plan, a farewell) let a second model guess join the first (c2)."""
    signs = WeakSigns.load()
    assert signs.aggrieved("再不来人我就找电视台曝光你们") and signs.aggrieved("我要投诉你们,我去信访局")
    assert not signs.aggrieved("我想问问社保卡在哪办")
    assert signs.threat("今晚我就下去跟那个老板拼了") and signs.threat("今晚非得让他见点血不可")
    assert not signs.threat("他说要跟我拼了,我好害怕")
    assert signs.serious("我已经站在江边了,这是最后一次给你们打电话了.") and signs.serious("药我都攒好了")
    assert not signs.serious("我一个人在家不想折腾") and signs.cue("我一个人在家不想折腾")


def test_recognizer_text_is_cut_at_a_word_start(signs: WeakSigns) -> None:
    """Trial 6, L1: 「伴走了半年了我一个人也没啥意思」 lost the 老 of 老伴; an edge moves out to a word's start."""
    text = "我老伴走了半年了我一个人也没啥意思"
    starts = Tokenizer().word_starts(text)
    assert 2 not in starts and 1 in starts  # 老伴 is one word
    plain = signs.heard(text)
    snapped = signs.heard(text, lambda: starts)
    assert plain is not None and snapped is not None
    assert text[plain[0]:plain[1]].startswith("伴走了")  # the window alone cuts the word
    assert text[snapped[0]:snapped[1]] == "老伴走了半年了我一个人也没啥意思"
    assert snapped[0] >= plain[0] - 3 and snapped[1] == plain[1]  # at most a few characters out


def test_settling_it_with_the_other_party_is_no_sign(signs: WeakSigns) -> None:
    """New-user trial 13: 算了算了 邻里邻居的 我自己跟他说吧 谢谢你啊 got a red self-harm card (the model sure)."""
    assert signs.settles("算了算了,邻里邻居的,我自己跟他说吧,谢谢你啊")
    assert signs.settles("我去跟物业说一下吧")
    assert not signs.settles("我跟他说了,最后一次,以后不麻烦你们了")
    assert not signs.settles("算了算了,我自己想办法吧")
