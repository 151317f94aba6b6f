"""Banned phrases on the agent's channel: every 禁用语 of seed 002, context, pinyin tolerance."""

from __future__ import annotations

import pytest

from assist.nlp.analyzer import Analyzer, CallContext
from assist.nlp.banned import BannedList
from assist.nlp.data import DEFAULT_DATA_DIR
from assist.nlp.normalize import normalize
from assist.protocol.enums import Role


@pytest.fixture(scope="module")
def banned() -> BannedList:
    return BannedList.load(DEFAULT_DATA_DIR / "banned.toml")


def rules(banned: BannedList, text: str) -> list[str]:
    return [h.rule for h in banned.find(normalize(text).text)]


@pytest.mark.parametrize(
    ("text", "rule", "span"),
    [
        ("喂,你好", "wei", "喂"),
        ("哦,那你等一下", "o", "哦"),
        ("这个我不知道", "dont_know", "我不知道"),
        ("这是规定我没办法", "rules_no_way", "这是规定我没办法"),
        ("你自己去住建局问吧", "go_ask_yourself", "你自己去住建局问吧"),
        ("你说完了没有", "finished_yet", "说完了没有"),
    ],
)
def test_every_banned_phrase_of_the_workflow_is_detected(banned: BannedList, text: str, rule: str,
                                                         span: str) -> None:
    hits = banned.find(normalize(text).text)
    assert [h.rule for h in hits] == [rule]
    assert span in hits[0].span.text
    assert hits[0].suggestion


@pytest.mark.parametrize("department", ["住建局", "城管", "派出所", "社保局", "市场监管局", "物业", "街道办", "12315"])
def test_go_ask_yourself_with_any_department(banned: BannedList, department: str) -> None:
    assert "go_ask_yourself" in rules(banned, f"你自己去{department}问吧")


@pytest.mark.parametrize("text", ["你去问城管吧", "你找物业去吧", "你打12315问吧", "你自己去派出所问问吧"])
def test_go_ask_yourself_variants(banned: BannedList, text: str) -> None:
    assert "go_ask_yourself" in rules(banned, text)


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("你怎么不早说", "why_not_earlier"),
        ("我已经说过了", "said_already"),
        ("你听不懂吗", "cant_understand"),
        ("这不归我们管", "not_our_business"),
        ("跟我说没用", "useless_to_tell_me"),
        ("你爱找谁找谁", "whoever"),
        ("应该明天能修好", "vague_promise"),
        ("大概下周吧", "vague_promise"),
        ("可能会有人联系您", "vague_promise"),
    ],
)
def test_blame_retort_and_vague_promises(banned: BannedList, text: str, rule: str) -> None:
    assert rule in rules(banned, text)


@pytest.mark.parametrize(
    "text",
    [
        "喂养宠物需要到社区登记",
        "宝宝喂奶的时间可以咨询社区医院",
        "您应该带上身份证和户口本",
        "我知道了,我帮您记录一下",
        "这个规定是为了保障大家的用水安全",
        "好的哦,我帮您登记",
        "您好!市长热线,请问有什么可以帮到您?",
        "此事由住建部门主办,我立即为您转办并跟踪进度",
        "费用大概是两百元",
        "您可以拨打12315咨询",
        "这不可能是您的责任",
        '您是说工作人员回了您一句"哦"就挂了电话,是吗?',
    ],
)
def test_compliant_wording_is_not_flagged(banned: BannedList, text: str) -> None:
    assert rules(banned, text) == []


@pytest.mark.parametrize(("text", "rule"), [("我不直到", "dont_know"), ("说玩了没有", "finished_yet"),
                                            ("这不归我门管", "not_our_business")])
def test_recognizer_homophones_are_tolerated_through_pinyin(banned: BannedList, text: str, rule: str) -> None:
    hits = banned.find(normalize(text).text)
    assert [h.rule for h in hits] == [rule]
    assert hits[0].fuzzy


def test_vosk_style_agent_text(banned: BannedList) -> None:
    assert rules(banned, "喂 你 好 这个 我 也 不 知道 你 自己 去 城管 问 吧") == ["wei", "dont_know", "go_ask_yourself"]


def test_suggestion_names_the_callers_department() -> None:
    analyzer = Analyzer.load(use_kb=False)
    ctx = CallContext()
    analyzer.analyze("caller", "我们小区物业乱收费", ctx)
    result = analyzer.analyze("agent", "这不归我们管", ctx)
    assert result.banned[0].suggestion == "此事由住建部门主办,我立即为您转办并跟踪进度。"
    # no department known yet: a word the operator can say, never a placeholder
    assert analyzer.analyze("agent", "这不归我们管").banned[0].suggestion.startswith("此事由相关部门主办")


def test_no_suggestion_or_example_carries_a_placeholder() -> None:
    banned = BannedList.load(DEFAULT_DATA_DIR / "banned.toml")
    for rule in banned.rules:
        said = rule.suggestion.format(department=banned.unknown_department)
        assert not any(p in said for p in ("××", "XX", "{", "}")), rule.id
    training = (DEFAULT_DATA_DIR / "training.toml").read_text(encoding="utf-8")
    examples = [line for line in training.splitlines() if line.startswith("example")]
    assert examples and not any("××" in line for line in examples)


def test_offsets_are_reported(banned: BannedList) -> None:
    text = normalize("好的,我不知道").text
    hit = banned.find(text)[0]
    assert text[hit.span.start:hit.span.end] == hit.span.text == "我不知道"


def test_in_a_crisis_the_alternative_keeps_the_caller_on_the_line() -> None:
    analyzer = Analyzer.load(use_kb=False)
    ctx = CallContext()
    analyzer.analyze("caller", "我老人在楼梯上摔倒了起不来头上流血", ctx)
    hit = analyzer.analyze("agent", "我不知道", ctx).banned[0]
    assert "不要挂电话" in hit.suggestion and "120" in hit.suggestion
    assert "查询确认后给您回复" not in hit.suggestion  # the routine wording does not fit a caller in danger
    calm = CallContext()
    analyzer.analyze("caller", "我想问一下公积金怎么提取", calm)
    assert analyzer.analyze("agent", "我不知道", calm).banned[0].suggestion == "这个问题我帮您查询确认后给您回复。"


@pytest.mark.parametrize("text", [
    "我不能向您打包票结果一定怎样,但处理过程我会全程跟进。",       # a promise declined is the compliant form
    "我没法保证具体哪天修好,但我会每天帮您催办。",
    "您说维修师傅当时拍胸脯说明天肯定修好,结果一直没来,是这样吧?",  # the caller's words repeated back
    "这个问题我暂时答不上来,我记下来请业务部门专人给您回电。",      # an honest limit with what happens next
    "这件事我做不了主,但我可以马上把您的诉求交给有权限的部门。",
    "估计您也等急了,我这边马上给您登记。",                          # empathy, not a hedged promise
    "大概位置您能描述一下吗,附近有没有超市或者学校?",              # asking for an approximate place
])
def test_negated_reported_and_honest_wording_is_not_banned(banned: BannedList, text: str) -> None:
    assert banned.find(normalize(text).text) == []


@pytest.mark.parametrize("text", [
    # stop 17: a colleague's words told to the caller, a declined promise, the caller's question or demand read
    # back, the operator's own action vouched for, a phrase named as a phrase, talk about banned phrases
    "之前有位同事跟您说这不归我们管,那是不对的,这事我们受理。",
    "我没法跟您拍胸脯说下周一定修好,但我今天就派单。",
    "我不能跟您乱打包票说月底肯定批,我能做的是每周给您通报一次。",
    "您问能不能保证月底前退款,我如实说要看商家的答复。",
    "您要我保证明天一定通水,这个我保证不了,我每两个小时帮您问一次进度。",
    "我保证今天下班前把您的工单派出去。",
    "我肯定会给您回电话的,最晚明天上午十点。",
    "像你冷静点这种话我们是不能说的。",
    "培训的时候讲过,我不知道这种回答算禁语。",
    # blind v13 (retired): a denial of pushing away, a promise declined with 随便 between
    "打老婆可不是家务事,您现在安全吗?", "您没找错地方,这个事我们受理。", "我不能随便跟您打包票,但我会盯着进度。",
    # stop 18: the own action vouched for, what others do asked of them, not promised
    "我一定转给他们,请他们尽快修好", "我一定把工单转给街道让他们尽快处理", "我一定转给他们督促他们尽快修好",
    "我一定帮您转办三个工作日内会有回复", "我肯定转交给住建部门处理",
    # blind v14 (retired): an honest difficulty, the operator's own actions, a declined promise then an own action
    "距离事情发生已经过了半年,取证可能会比较困难,但我还是先帮您把情况如实记录下来。",
    "您放心我一定把您的诉求转到供热公司并且明天上午我亲自给您回电话",
    "这个工单我肯定会帮您跟到底的有任何进展我都会及时联系您",
    "这个我不能保证结果但我可以保证今天下班前就把工单派出去", "建议您也可以自行联系开发商,同时我这边给您登记",
    # the independent review of stop 18: advice that is no push-away, hurrying that is no feeling, an own action
    "建议您自己和家人商量一下再决定", "用药的问题建议您自己咨询一下主治医生", "您没必要着急跑一趟,材料下周一交也来得及",
    "我一定帮您问清楚什么时候补发",
])
def test_others_words_declined_promises_and_own_actions_are_not_banned(banned: BannedList, text: str) -> None:
    assert banned.find(normalize(text).text) == []


@pytest.mark.parametrize("text", ["我跟您打包票,明天肯定修好。", "我做不了主,你找别人吧。", "估计下周就能修好吧。",
                                  "上回不是跟你说过了吗怎么又打来问", "你问我我也不知道",
                                  "您问我也白搭,这事得您自己去跑", "您要是早点来办也不至于这样",
                                  "这个肯定能办好,您放心吧", "有话快说,我这边忙着呢", "这是你们两口子的家务事",
                                  # stop 17's second review: the reported-speech patterns must not hide these
                                  "这句话我说最后一遍,你听不懂吗", "你这人怎么听不懂人话这种话我都懒得说",
                                  "驾照扣分的事不归我们管,你自己去交警队问吧", "我们同事已经跟您说过了,你听不懂吗",
                                  "有人跟您说过吧,烦死了", "我没法跟您说太多反正肯定给您解决",
                                  "您问能不能退肯定能退给您", "您要我保证我保证明天一定修好",
                                  # stop 18: the outcome promised after an own action vouched for
                                  "我肯定转给他们今天就修好", "我保证反映上去明天就能来水", "我肯定转给他们就能解决",
                                  "我肯定帮您派单明天就有人来修好", "绝对转交给他们明天就能到账",
                                  # blind v14 (retired): others' outcome vouched for, a push-away before a
                                  # goodbye, telling the caller not to be upset
                                  "我立即为您转办,他们一定会让老板把工资结清", "您犯不着急成这样,我看看",
                                  "您反映的路灯问题是开发商遗留的,建议您自行联系开发商,祝您生活愉快,再见。",
                                  # the review of stop 18: the textbook promise, not an own action
                                  "我一定把您的问题处理好", "您放心我肯定把您的诉求办妥", "用不着这么着急上火"])
def test_the_same_words_as_a_promise_or_a_brush_off_still_are(banned: BannedList, text: str) -> None:
    assert banned.find(normalize(text).text)


# ---------------------------------------------------------------- compliant look-alikes of the retired blind set v8
@pytest.mark.parametrize("text", [
    "这个我不能向您保证一定能退,但我会把您的诉求完整转给文旅部门。",  # a promise declined (negated)
    "处理结果我没法替部门打包票,但我会全程跟进。",
    "我保证把您今天说的每一点都写进工单里。",  # the operator's own action
    "麻烦您稍微大点声,我这边听得不太清楚,谢谢。",  # a polite request
    "嗯我不知道这样理解对不对您是想问取暖补贴什么时候领是吧",  # checking understanding
    "您说客服当时拍胸脯保证今天解决,后来没人来,我把这个情况一并反映。",  # a third party's words, reported
    "您刚才说窗口工作人员让您冷静点再来,这个态度问题我会如实记录。",
])
def test_declined_promises_own_actions_polite_requests_and_reported_words_are_not_banned(
        banned: BannedList, text: str) -> None:
    assert rules(banned, text) == []


@pytest.mark.parametrize(("text", "rule"), [
    ("这事我保证明天就给您办好。", "absolute_promise"),  # not declined: still an absolute promise
    ("你大点声,听不见!", "rude_impatience"),
    ("我不知道,你去问别人吧。", "dont_know"),
    ("您说物业不管那您早干嘛去了", "why_not_earlier"),  # the operator's own retort after a report
])
def test_the_same_words_said_as_the_operators_own_lapse_are_still_banned(
        banned: BannedList, text: str, rule: str) -> None:
    assert rule in rules(banned, text)


def test_a_hedge_about_the_callers_condition_before_an_instruction_is_no_promise() -> None:
    """Trial 6, c2 T9, heard without punctuation: 可能是心脏的问题 tells a caller who plays chest pain down why to
    act now; it was flagged 模糊承诺 (「可能是心脏的问题请您马上」) in the middle of the crisis."""
    analyzer = Analyzer.load()
    said = "先生您这个情况不能等 胸痛伴随胳膊麻和出汗可能是心脏的问题 请您马上拨打120 我现在也可以帮您转接120"
    assert analyzer.analyze(Role.AGENT, said).banned == ()
    assert [h.rule for h in analyzer.analyze(Role.AGENT, "可能明天就能修好").banned] == ["vague_promise"]


@pytest.mark.parametrize(
    ("text", "flagged"),
    [
        ("请您理解,我们也是按规定办事。", True),  # new-user trial 9
        ("请您理解 我们也是按规定办事 没法帮您", True),  # the review of stop 21: 帮您 negated is no action
        ("我们这也是按规定办事,别的管不了。", True),
        ("我们只能按规定办事,马上给您登记转办。", False),  # the rule quoted while acting at once
        ("您放心,我们会按规定办事。", False),
        ("我们是按规定办事的。", True),  # the focused review of stop 21
        ("我们这边也只能按规定办事。", True),
        ("我们也是按规定办事,我现在马上为您登记。", False),
    ],
)
def test_hiding_behind_the_rules(banned: BannedList, text: str, flagged: bool) -> None:
    assert ("rules_no_way" in rules(banned, text)) is flagged, rules(banned, text)


@pytest.mark.parametrize(
    ("text", "flagged"),
    [
        # the retired blind v17: an honest limit followed at once by an action is compliant (define ACTION)
        ("这个我也不晓得具体咋个算我帮你记下来派给人社那边他们会打电话跟你解释", False),
        ("说实话,具体怎么算我也说不准,我把您的问题提交给税务部门,请他们在3个工作日内给您答复。", False),
        ("这个我不太了解嗯我请我们值班长来跟您说您别挂电话稍等一下", False),
        # ... and a limit that stops there, or sends the caller away, is not
        ("这个我不知道。", True),
        ("我也不清楚,你自己去问吧", True),
        ("您说的这个事情比较特殊,我们这边也不了解情况,没法给您答复。", True),
    ],
)
def test_an_honest_limit_with_an_action(banned: BannedList, text: str, flagged: bool) -> None:
    assert bool(set(rules(banned, text)) & {"dont_know", "disclaim_knowledge"}) is flagged, rules(banned, text)


def test_asking_about_thoughts_of_suicide_is_no_banned_phrase(banned: BannedList) -> None:
    """New-user trial 10: 您是不是有什么想不开的 (the protocol's question) was warned as 情绪命令."""
    assert "feel_command" not in rules(banned, "阿姨 您是不是有什么想不开的 您现在身边有人吗")
    assert "feel_command" in rules(banned, "您别想不开")


def test_both_lapses_of_one_line_are_warned(banned: BannedList) -> None:
    """New-user trial 10: 按规定办事 我也没办法 你找我也没用 kept only 找我也没用 (no pause after 没办法)."""
    assert {"rules_no_way", "useless_to_tell_me"} <= set(rules(banned, "按规定办事 我也没办法 你找我也没用"))


@pytest.mark.parametrize("text", ["我也不清楚,给您转也没用,您去找街道", "我不知道 给你记了也没人管",
                                  "我也说不准 帮你问了也白问", "我不知道啊给你转过去你自己跟他们说"])
def test_an_action_taken_back_is_no_action(banned: BannedList, text: str) -> None:
    """The last review of stop 21: 给您转也没用 is a brush-off, not an honest limit with an action."""
    assert {"dont_know", "disclaim_knowledge"} & set(rules(banned, text)), text


@pytest.mark.parametrize("text", [
    # the retired blind v18: an honest limit with an action a few words or a sentence on; a rule's or a unit's hedge;
    # a promise of the operator's own action
    "这个补贴具体发多少我这边也不太清楚嗯我现在就帮您跟区民政局核实一下今天下班前给您回电话",
    "具体哪几条线我不清楚啊我先查一下知识库请您稍等",
    "我这边确实不知道我把医院的预约电话给您再帮您看看网上还有没有号源",
    "电话我们这边也不知道我马上让社区网格员上门敲门看看",
    "这个学校今年有没有插班名额,我这里不清楚,要以学校和区教育局的答复为准。我给您转到区教育局的咨询电话",
    "按照规定,承办单位应该在五个工作日内答复您,如果到期还没有消息您再打过来",
    "区住建局那边给的回复是说漏水原因可能是公共管道他们明天上午安排人上门查看",
    "我保证今天就把您的工单转到区住建局,并标注加急",
    "我保证把您说的这几条一条不落地写上去写完我念一遍给您听",
    "这个问题我们早该想到的,非常抱歉",
    # the retired v20's rule hedges, and look-alikes of its new warnings
    "政策上写的是如果可能需要补充材料的话窗口会一次性告知您",
    "按办事指南，不动产登记应该在受理后的法定时限内办结，具体天数以当地规定为准。",
    "这个零件坏了整不好了得换新的", "是您先打的电话吗",
    # the review of stop 23
    "您这个房子漏水,不赶紧修整不好会越来越严重", "这个表格您自己填整不好会被退回,我帮您填",
    "您这个燃气灶整不好就会漏气,先关阀门", "您这个事要是材料不全整不好就会被驳回,我先帮您核对一下",
    "侬勿晓得伐,这个政策上个月改了,我讲给侬听", "您讲的侬勿晓得个事体我来解释一下", "勿清爽的地方我帮侬问清楚再回复侬",
    "我勿清楚侬讲的是哪个小区,侬再讲一遍好伐", "政府不插手企业的定价,但价格违法的话我们可以转市场监管",
    "您说政府不管这事,其实不是的,我们这就帮您转办", "政府不管这个说法是不对的", "政府不掺和是不对的,我帮您反映上去",
    "监控显示是您先动手的吗?我帮您核实一下", "是您先吵起来的还是对方", "是你先打人的还是他先打你",
    "是您先动手的话,可能要承担一定责任,但我们还是会转给派出所", "您当时骂回去也正常,换谁都会生气",
    "他那样说您,您回嘴也正常,我理解",
    # the second review of stop 23
    "我勿晓得,我帮侬查一查", "这个我勿清爽,我帮侬问问相关部门", "这种情况整不好会罚款,您要注意",
    "整不好会下雨,您带把伞",
    "这个房子整不好就塌了,您赶紧搬", "整不好就会影响征信您尽快处理", "一般来说,整不好明天就停水了,您提前储水",
    "这不是私人恩怨,是违法行为,我给您转派出所", "私人恩怨也可以申请人民调解我给您登记", "我们这边是私人恩怨调解中心吗",
    "不是政府不管这事,是需要走法定程序", "并不是政府不插手,而是要依法办理", "不是您先动手的,对方也有责任",
    "监控显示不是您先动手", "据对方说是您先动手我们会去核实", "物业那边说是您先骂的人我们会再了解一下情况",
    "对方说是您先骂的,您看是这样吗",
    # the retired v21's false warnings
    "区教育局之前回复的原话是入学名单可能要到八月中旬才公布我把这个答复念给您听您看还有什么疑问",
    "这条公交线路调整的原因我这里没有资料，我不清楚具体的考虑，不过我可以把您的意见作为建议转给市交通运输局",
    "您别怕电梯是有防坠装置的您按一下轿厢里的警铃不要扒门我这边已经通知幺幺九和物业了您告诉我是几号楼几单元",
    "丧葬补助的申请我一项项跟您说，您记不住也没关系，我等下把清单发给您",
    # the retired v22's false warnings: an own action vouched for, a unit's reply and a rule read out, a party's words
    "我保证今天就把你这个单子报上去 报上去以后单号发到你手机上",
    "燃气公司那边的答复是 管道改造预计下个月中旬完工 可能还会有几天调整 到时候我们回访核实",
    "规定里说了 新生儿应该在出生一个月之内办理户口登记 您家孩子现在还来得及",
    "城管局的回复单上写着 可能需要先取证再处罚 所以处理周期会长一点 我给您念一下原文",
    "您讲个个窗口都话唔关我哋事 我明白 我帮您直接联系区政务服务中心的负责人",
    "您说社区的人讲 你先别激动 这话让您更生气了 这个我会如实反馈给社区",
    # the review of stop 24: a first-aid question about a head, reassurance, and the speaker's own head; the caller's
    # view read back
    "嗯您是觉得上回的答复说应该没问题太含糊了是吧",
    # the retired v23's false warnings: a unit's words read out, an own action vouched for, a limit with the action a
    # sentence later, 至于 as "as for", 包括
    "市场监管局给的答复原话是商家应该在七日内退款我把这个答复一字一句读给您听您看有没有要补充的",
    "这个情况我肯定会在工单里写清楚,包括您提到的两次投诉编号,免得承办单位漏看。",
    "这个小区具体归哪个社区,我这里的地图暂时查不到。我先按街道派单,备注请街道核实所属社区,这样不耽误处理。",
    "嗯我能保证的是这个工单我会跟踪到底承办单位每一次回复我都第一时间告诉您至于最后怎么处理要以他们的核查结果为准",
    "我没法跟您打包票说明天一定修好,但我会把工单标成紧急,明天上午十点前给您回个电话说进展。",
    "可能是我刚才讲得太快了我慢一点再跟您过一遍", "这个不清楚的地方我帮您问一下",
    "您要是带齐材料也不会跑两趟,我把清单发给您",
    # new-user trial 13: a hedge about the danger before the transfer, the safety advice beside a transfer, and (the
    # review of stop 24) the caller's words read back
    "老人可能在家里出了意外这个不能等 我马上帮您转接110", "您也可以自己先报警,我这边同时帮您转接110",
    "这个事物业说他们管不了是吧", "您是说这个派出所管不了",
    "老人摔倒了脑袋有包吗,有没有出血", "孩子的脑袋是不是有包,有没有鼓起来,您摸一下",
    "这个app很简单,小孩子都会用,我教您操作",
    "您放心,现在垃圾分类小学生都知道,我们社区也在宣传", "我脑子短路了,不好意思",
])
def test_compliant_lines_of_the_retired_v18_are_clean(banned: BannedList, text: str) -> None:
    assert rules(banned, text) == [], text


@pytest.mark.parametrize("text", ["我跟供电那边说了 差不多等一会儿就来电了", "我保证明天就能修好",
                                  "这个我不知道。你自己去问社区吧", "我也说不准 帮你问了也白问",
                                  # the retired v18's missed warnings
                                  "好的,地址我核对过了。其实这个问题您早该想到,房子是您自己选的。",
                                  "不过像您这样的电话,我一天要接几十个,真没什么新鲜的。",
                                  "这个事情不归阿拉管的侬到别的地方去问",
                                  "工单也提交了回头差不多就给您修了", "您这个诉求挺合理的,十有八九能批,等着就行。",
                                  # the retired v20's missed warnings
                                  "迭个事体我也勿晓得。", "整不好这两天就给你办利索了",
                                  "您好，很理解您和邻居之间的矛盾。不过这属于你们邻里之间的私人恩怨，政府不掺和。",
                                  "投诉我已经受理了，编号稍后发您。不过说句实在话，是您先骂人家保安的，人家回嘴也正常。",
                                  # the review of stop 23: the operator's own hedge after a document is still one
                                  "规定上写着应该会给您退的", "文件上写的是大概下个月能发",
                                  "政策里写的是估计年底前能办好",
                                  "按指南来说可能下个月就能拿到钱", "这个阿拉弗晓得", "您先骂的他,他骂回来很正常",
                                  "他骂你那也是正常的", "这种事政府不管", "政府管不了这个",
                                  "应该不会超过法定时限明天就能办好",
                                  # the retired v21's missed warnings
                                  "这个事情我已经跟他们说了他们说会处理的应该没啥大问题吧",
                                  "您上次来电说的是二楼,这次又说三楼,您自己都记不清还说我们派错了",
                                  "这事儿跑不了下礼拜您就能搬进新房了我说的", "您别怕,有什么好怕的",
                                  "我刚才不是说了吗具体额度你得问公积金中心",  # new-user trial 12
                                  # the retired v22's missed warnings, and the operator's own words after a reply
                                  "您好,感谢您的耐心等待。您这个问题啊,小学生都知道去哪办,您还打12345?",
                                  "你脑壳是不是有包哦 刚刚才说了登记号码 转个身就忘了", "侬脑子拎得清伐?我讲了好几遍了",
                                  "您说物业不管 你先别激动", "我保证明天就给您修好",
                                  "街道的答复是已经派人了 我估计明天能修好",
                                  # the review of stop 24: the operator's own words after a party's or a reply
                                  "您说社区的人讲,那您自己去找他们吧", "您说那边说了,我也不知道,您去问问别人吧",
                                  "你说医院讲了没床位,那你早干嘛去了", "你说公司讲,你活该",
                                  "您说社区讲的,我觉得也没错,你先别激动",
                                  "你说社区讲不管,那你去找街道啊", "答复是说在处理,应该过两天就好了,您再等等",
                                  "答复是这样的,应该没什么问题,您放心", "反馈是说物业已经修了,那应该没问题了吧",
                                  "回复里说了会处理,应该很快的", "街道的回复是已经派人去看了,应该很快就能修好",
                                  "我给您的答复是,应该很快就能办好", "我保证上报领导,领导肯定会批的",
                                  "我保证报上去了肯定有人管",
                                  "您这问题问得,小学生都知道答案。", "侬脑子拎不清啊",
                                  # the retired v23's missed warnings, and look-alikes of its fixes
                                  "你说话能不能说清楚点哦莫得时间陪你在这儿摆龙门阵",
                                  "呃那个公租房排到第几号了我们也查不着的哦",
                                  "这事至于吗", "你至于这么生气吗", "包在我身上", "答复原话是应该很快就能修好",
                                  "您当时要是先在网上查查那家机构的资质,也不至于被骗这么多钱。",
                                  "至于什么时候恢复供气,这个不清楚。", "哎呀孩子没分到学校而已不至于这么紧张吧",
                                  "这个问题我们会反映的,至于什么时候解决,估摸着快了。",
                                  # new-user trial 13: a caller watched by a stalker left to call the police alone
                                  "那这个我们也管不了 你自己报警呗", "你好你自己去报警吧"])
def test_their_look_alikes_are_still_warned(banned: BannedList, text: str) -> None:
    assert rules(banned, text), text
