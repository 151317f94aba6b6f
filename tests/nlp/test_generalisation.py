"""Generalisation by linguistic class: new wordings of each class the engine must cover.

The sentences here were written for these tests (not taken from the evaluation sets):
several wordings per class (direct, indirect, colloquial, recognizer-style) plus
look-alikes that must NOT trigger.  A failure names the class that regressed.
"""

from __future__ import annotations

import pytest

from assist.nlp.analyzer import Analysis, Analyzer
from assist.nlp.asrstyle import to_recognizer_style

URGENT = {"110", "119", "120", "122"}


@pytest.fixture(scope="module")
def analyzer() -> Analyzer:
    return Analyzer.load(use_kb=False)


def numbers(result: Analysis) -> list[str]:
    return [r.number for r in result.referrals]


def both_styles(text: str) -> list[str]:
    """The typed sentence and the same sentence as a recognizer writes it (spaces, no punctuation)."""
    return [text, to_recognizer_style(text)]


def emotion(result: Analysis) -> str:
    assert result.emotion is not None
    return result.emotion.label


# ---------------------------------------------------------------- suicidal ideation and despair

SELF_HARM = [
    # direct
    "我真的不想再活下去了",
    "我想死,一天都不想多待",
    "我想一死了之,省得给家里添麻烦",
    # indirect: life not worth living, death as relief
    "每天睁开眼就觉得活着没劲",
    "这样生不如死的日子我过够了",
    "死了就解脱了,谁也不用管我",
    # euphemistic
    "我想早点解脱,离开这个世界",
    "我要是不在了,家里人反倒能轻松点",
    "等我走了以后,他们就不用再为我操心了",
    "没有我,他们会过得更好",
    # preparations and methods
    "遗书我都写好了,放在抽屉里",
    "后事我都跟我姐交代好了",
    "安眠药我已经攒了一瓶了",
    "绳子我都准备好了",
    "我现在手里拿着刀,想往手腕上划",
    "我在网上查了烧炭要准备什么",
    "我真想喝农药死了算了",
    # passive ideation and threats
    "我就想一觉睡过去再也不醒",
    "这条老命我不要了",
    "活着太痛苦了",
    "我真不知道活着是为了什么",
    "我现在就是在家等死",
    "我这把老骨头早点走了,孩子们就省心了",
    "要是没有我这个拖油瓶,他们早就过好了",
]

DESPAIR = [
    "我实在是撑不住了,每天都想哭",
    "这样的日子我真的熬不下去了",
    "我现在一点出路都没有了",
    "欠了一身债,真的是没有活路了",
    "我这辈子看不到一点希望了",
    "我就是家里的累赘,不想拖累他们",
    "我已经彻底绝望了",
    "我真的扛不动了",
    "我累了,不想再坚持了",
    "我活着还有什么盼头",
    "我看不到任何出路",
    "我快扛不下来了",
    "我怕是熬不过这个冬天了",
    "往后的日子可怎么过啊",
    "哪还有什么活路",
    "我不想再拖累孩子了",
]


@pytest.mark.parametrize("text", SELF_HARM + DESPAIR)
def test_self_harm_and_despair_are_critical_with_12356(analyzer: Analyzer, text: str) -> None:
    for variant in both_styles(text):
        result = analyzer.analyze("caller", variant)
        assert result.critical, variant
        assert "12356" in numbers(result), variant
        assert emotion(result) == "绝望", variant
        assert result.intent == "求助", variant


@pytest.mark.parametrize(
    "text",
    ["我现在就站在楼顶上,不想活了", "我刚才吃了一整瓶安眠药", "我已经喝了农药", "我现在坐在桥边的栏杆外面"],
)
def test_self_harm_in_progress_also_calls_110(analyzer: Analyzer, text: str) -> None:
    result = analyzer.analyze("caller", text)
    assert result.critical
    assert {"12356", "110"} <= set(numbers(result))


@pytest.mark.parametrize(
    "text",
    [
        "我儿子最近总说活着没意思,我很担心",
        "我女儿跟我说她不想活了,我该怎么办",
        "我怕我妈想不开,她天天一个人哭",
        "楼顶上有个人要跳楼,快来人啊",
    ],
)
def test_someone_elses_crisis_is_critical_but_the_caller_is_worried(analyzer: Analyzer, text: str) -> None:
    result = analyzer.analyze("caller", text)
    assert result.critical
    assert "12356" in numbers(result)
    assert emotion(result) == "焦虑"


@pytest.mark.parametrize(
    "text",
    [
        "我不会想不开的,你们放心,就是想问问低保怎么申请",
        "我从来没想过自杀,就是压力有点大",
        "商场搞跳楼价大甩卖,是不是虚假宣传",
        "急死我了,孩子的学籍怎么还没转过来",
        "累死了,排了一上午队还没办上",
        "我父亲去世了,后事需要办理哪些手续",
        "我想立个遗嘱,需要去公证处吗",
        "好久没见了,想死你们了",
        "雨棚快撑不住了,要塌了",
        "这个优惠活动坚持不了多久吧",
        "我这个月房贷快扛不住了,想问问公积金能不能提前取",
        "我也不想给你们添麻烦,就是问问社保的事",
        "我现在在江边,这里垃圾堆得到处都是",
    ],
)
def test_denials_and_look_alikes_are_not_critical(analyzer: Analyzer, text: str) -> None:
    result = analyzer.analyze("caller", text)
    assert not result.critical
    assert "12356" not in numbers(result)
    assert emotion(result) != "绝望"


@pytest.mark.parametrize("text", ["我实在称不住了", "我 真的 不想 或 了", "我 想 一 四 了 之"])
def test_recognizer_homophones_of_despair(analyzer: Analyzer, text: str) -> None:
    assert analyzer.analyze("caller", text).critical


# ---------------------------------------------------------------- emergencies in progress

EMERGENCIES = [
    # fire, smoke, gas (119)
    ("厨房油锅着了,火窜得老高", "119"),
    ("楼下电动车充电着起来了,整个楼道都是烟", "119"),
    ("隔壁屋里往外冒黑烟,还有火苗", "119"),
    ("我闻到楼道里有很重的煤气味", "119"),
    ("家里液化气罐好像漏气了,呲呲响", "119"),
    ("仓库那边烧起来了,火越来越大", "119"),
    # trapped, in water (119)
    ("电梯突然停了,我们三个人被关在里面", "119"),
    ("孩子把自己反锁在车里了,天这么热", "119"),
    ("有个老人掉进河里了,就在桥下面", "119"),
    # medical (120)
    ("我妈突然说话含糊不清,一边手抬不起来", "120"),
    ("我老伴口吐白沫,浑身抽筋", "120"),
    ("我爸心脏病犯了,捂着胸口说疼", "120"),
    ("孩子误吃了洗衣液", "120"),
    ("有个人倒在路边一动不动", "120"),
    ("邻居大爷摔倒了起不来,头上一直流血", "120"),
    ("我老婆要生了,羊水破了", "120"),
    ("我爷爷突然昏过去了,怎么叫都叫不醒", "120"),
    ("我爸突然头晕,话都说不清了,嘴角也歪了", "120"),
    ("我妈胸闷得厉害,喘不上来气", "120"),
    ("孩子发高烧抽过去了", "120"),
    ("我老公突然晕了,叫他也没反应了", "120"),
    ("插座一直在冒火花", "119"),
    # missing persons and violence (110)
    ("孩子放学到现在还没回家,同学说没见着他", "110"),
    ("我女儿从昨天晚上就联系不上了", "110"),
    ("老人出门遛弯一直没回来,他有老年痴呆", "110"),
    ("楼下有人拿着刀追着人砍", "110"),
    ("有人在撬我家的门", "110"),
    ("一帮人在饭店门口打起来了", "110"),
    ("救命啊,有没有人,快来人啊", "110"),
    ("有人翻墙进了我们院子", "110"),
    ("我老公喝醉了在家砸东西", "110"),
    ("我家老人不知道走哪去了,手机也没带", "110"),
    ("孩子在商场被一个男的抱走了", "110"),
]


@pytest.mark.parametrize(("text", "number"), EMERGENCIES)
def test_emergencies_in_progress_are_critical_with_the_right_number(analyzer: Analyzer, text: str,
                                                                    number: str) -> None:
    for variant in both_styles(text):
        result = analyzer.analyze("caller", variant)
        assert result.critical, variant
        assert number in numbers(result), variant
        assert result.intent == "求助", variant
        assert emotion(result) in ("焦虑", "绝望"), variant


@pytest.mark.parametrize(
    "text",
    [
        "我骑电动车被一辆面包车撞了",
        "前面两辆车追尾了,有人受伤",
        "刚在十字路口跟一辆电瓶车碰了",
        "一辆货车把我家老人撞倒了,司机开车跑了",
    ],
)
def test_traffic_accidents_get_122_never_12306(analyzer: Analyzer, text: str) -> None:
    for variant in both_styles(text):
        got = numbers(analyzer.analyze("caller", variant))
        assert "122" in got and "12306" not in got, variant


@pytest.mark.parametrize(
    ("text", "wrong"),
    [
        ("燃气灶打不着火,能不能派人来看看", URGENT),
        ("我爸前年中风过,现在想申请护理补贴", URGENT),
        ("上个月孩子走丢过一次,后来找到了,想问问防走失手环哪里有", URGENT),
        ("我家老人昨晚晕倒了,已经送到医院抢救过来了,想问问医保怎么报", URGENT),
        ("楼道里堆满了纸箱,有火灾隐患", URGENT),
        ("轮胎漏气了,附近哪里能补", URGENT),
        ("工厂烟囱天天冒黑烟,呛得人难受", URGENT),
        ("审批卡在街道了,一直没批下来", URGENT),
        ("我这个腿老是抽筋,药费能报销吗", URGENT),
        ("高铁票怎么退,能退多少钱", {"122"}),
        ("我想坐公车去市政府,怎么走", {"12388"}),
        ("我有心脏病,慢性病门诊怎么申请", {"120"}),
        # procedure questions and stories (the retired blind v16; referrals.toml [timing] hypothetical, past)
        ("请问一下要是在家闻到煤气味应该先打哪个电话", URGENT),
        ("嗯我想问一下那个万一电梯困人了物业那边规定多长时间之内必须到", URGENT),
        # the review of stop 21: new 120 rules on things, animals, a heating complaint, a car, daily pills
        ("我的车被锁在停车场里两天了 物业不让开", URGENT),
        ("我的狗被物业关在笼子里一整天了", URGENT),
        ("我们被关在小区里三天了 不让出去", URGENT),
        ("家里暖气不热 孩子冻得嘴唇都是紫的", URGENT),
        ("我的车被撞了 车头都破了 对方不赔钱", {"120"}),
        ("我妈每天要把一大把药吃下去 慢性病门诊能报销吗", URGENT),
        ("我妈每天吃了安眠药才能睡着,想问医保", URGENT),
        ("孩子今天吃了二十颗葡萄拉肚子了", URGENT),
        ("我买的药一共三十片吃了十片觉得没效果能退吗", URGENT),
        ("吃了安眠药还睡不着", URGENT),
        ("物业修水管砸得我家水龙头都破了", URGENT),
        ("楼上砸东西把我家的枕头都砸破了", URGENT),
        ("我家门锁坏了打不开,想找个开锁的,孩子在学校", URGENT),
        ("孩子一直吐,想问哪个医院儿科好", URGENT),
    ],
)
def test_no_emergency_number_outside_its_scope(analyzer: Analyzer, text: str, wrong: set[str]) -> None:
    result = analyzer.analyze("caller", text)
    assert not result.critical
    assert not set(numbers(result)) & wrong


@pytest.mark.parametrize(
    "text",
    [
        "要是再不来人我妈就不行了,她现在已经昏迷了",  # the marker in another clause
        "万一他现在又打过来怎么办,他刚才已经砸门了",  # a present marker in the clause
        "电影院里着火了,好多人往外跑",  # a cinema is not a film
        "我遇到抢劫了,他拿着刀",  # 遇到 alone is now
        # the review of stop 21: a marker alone swallowed threats and pleas, a story frame swallowed real scenes
        "我老公喝醉了 如果我不开门他就砍死我",
        "万一我爸出事怎么办 他倒在地上不动了",
        "怎么办啊万一他不行了 他没有呼吸了",
        "要是他醒不过来怎么办 叫不醒了",
        "如果可以 快来人 我爸晕倒了",
        "我们在电影院看电影的时候突然着火了,好多人被困。",
        "看电影看到一半 旁边一个大爷突然晕倒了",
        "新闻说今晚有暴雨,我家已经进水了,老人被困在屋里出不来。",
        "晚上吃了安眠药 一共四十多片 跟你们说一声",
        "我平时吃了安眠药才能睡着 今天我一下吃了三十片",
        # the focused review of stop 21: 要是 inside 主要是, a danger now told after the question, the caller's own
        "主要是我爸被困在电梯里了物业多久能来",
        "千万一定帮帮我孩子被锁在车里了应该砸窗吗",
        "如果我爸被困在火里了能不能先进去救他",
        "万一孩子被锁在车里了现在应该砸窗吗",
        "要是着火了,应该往楼上跑还是往楼下跑?我们这栋楼现在全是烟!",
        "万一我被困在电梯里物业多久能到我都在里面半小时了",
        "如果有人吃了一瓶安眠药应该先打哪个电话我妈刚吃的",
        "我刚吃了十几片安眠药",
        "我吃了30片安眠药",
        "有个老人躺在雪地里冻得嘴唇都紫了",
        "我爸被锁在车库里两天了",
        "他在踹我 拽着我头发往墙上撞",
        "我把两瓶降压药都吃了",
        # the retired blind v17's misses
        "请问消防开锁收费吗?邻居家门锁坏了打不开,2岁孩子一个人在屋里哭,灶上还炖着汤。",
        "投诉你们管的养老院!我妈刚打电话说吃完午饭一直上吐下泻,同屋几个老人也这样,护工说没事。",
        "额也没啥大事 就是把攒下的药都吃咧 想跟人说句话 你们这热线晚上有人接么",
    ],
)
def test_a_danger_now_beside_a_hypothetical_word_stays_critical(analyzer: Analyzer, text: str) -> None:
    assert analyzer.analyze("caller", text).critical, text


# ---------------------------------------------------------------- out-of-scope referrals

@pytest.mark.parametrize(
    ("text", "number"),
    [
        # 12348: private loans and debts, contracts, labour disputes needing legal aid
        ("我借给同事三万块,他一直拖着不还", "12348"),
        ("亲戚借了我的钱,现在赖账不认", "12348"),
        ("民间借贷的钱要不回来怎么办", "12348"),
        ("跟装修公司签了合同,他们违约了也不退钱", "12348"),
        ("厂里不承认我是工伤,一分钱都不赔", "12348"),
        ("信用卡逾期还不上了,天天被催", "12348"),
        ("我借给他两万块,现在他电话不接还把我拉黑了", "12348"),
        # 12388: officials' corruption and misconduct
        ("我们村支书把低保名额都给了亲戚", "12388"),
        ("街道的一个科长办事要收好处费", "12388"),
        ("镇干部天天用公款吃喝", "12388"),
        ("办个证窗口的人暗示要我送礼", "12388"),
        ("局长开着公车接孩子上下学", "12388"),
        ("村里的账目从来不公开", "12388"),
        # 12315: consumer disputes, prepaid cards, shops that closed
        ("小区门口的健身房突然关门了,老板跑路,我卡里还有两千块", "12315"),
        ("理发店办的会员卡现在退不了钱", "12315"),
        ("网上买的手机是翻新机,商家不给退", "12315"),
        ("培训机构倒闭了,学费退不回来", "12315"),
        ("外卖里吃出了虫子", "12315"),
        # 12333: social insurance and labour policy, work injury
        ("我在厂里干活把手砸伤了,想做工伤认定", "12333"),
        ("单位一直没给我交社保", "12333"),
        ("失业金怎么领", "12333"),
    ],
)
def test_out_of_scope_referrals(analyzer: Analyzer, text: str, number: str) -> None:
    for variant in both_styles(text):
        assert number in numbers(analyzer.analyze("caller", variant)), variant


def test_work_injury_dispute_gets_both_12333_and_12348(analyzer: Analyzer) -> None:
    got = numbers(analyzer.analyze("caller", "我在工地上摔断了腿,老板不给算工伤,想申请劳动仲裁"))
    assert {"12333", "12348"} <= set(got)


# ---------------------------------------------------------------- banned phrases (agent)

BANNED = [
    # 顶撞训斥: said it already
    ("我都跟您说了三遍了,您怎么还问", "said_already"),
    ("我不是已经跟你讲过了吗", "said_already"),
    ("同样的话我讲了好几回了", "said_already"),
    # 讽刺挖苦: can't you understand
    ("这么简单的道理你怎么就听不明白呢", "cant_understand"),
    ("你怎么连这个都不懂", "cant_understand"),
    ("您咋老是搞不清楚呢", "cant_understand"),
    # unreasonable / attacking the person
    ("你这人怎么这么难缠", "unreasonable"),
    ("您这就是无理取闹", "unreasonable"),
    ("你别在这胡搅蛮缠了", "unreasonable"),
    ("就您事儿多", "unreasonable"),
    # sarcasm
    ("您可真闲,这种事也打12345", "sarcasm"),
    ("这点小事也值得打热线", "sarcasm"),
    ("行行行,您说得都对,行了吧", "sarcasm"),
    ("好好好,你永远是对的", "sarcasm"),
    ("您还真有闲心", "sarcasm"),
    # daring the caller to complain; whoever
    ("你要投诉就去投诉吧,我无所谓", "dare_complain"),
    ("有本事你就去告", "dare_complain"),
    ("随便你去哪投诉", "whoever"),
    ("你爱上哪投诉上哪投诉", "whoever"),
    ("有意见你去找领导", "dare_complain"),
    ("这事不是你想怎样就怎样", "unreasonable"),
    ("别在这跟我吵", "unreasonable"),
    ("你以为热线是你家开的", "sarcasm"),
    ("这个您也好意思问", "sarcasm"),
    ("现在知道着急了", "why_not_earlier"),
    # useless to tell me / not my fault / blame
    ("跟我嚷嚷也没用", "useless_to_tell_me"),
    ("我只是个接电话的,我说了不算", "useless_to_tell_me"),
    ("这又不是我的错", "blame"),
    ("谁叫你不看清楚就签合同", "blame"),
    ("那是您自己没弄清楚", "blame"),
    ("早干什么去了,现在才打电话", "why_not_earlier"),
    # 推诿: go and ask yourself, with any unit
    ("您得自己去社保局问", "go_ask_yourself"),
    ("你自己找物业解决去", "go_ask_yourself"),
    ("这事你去找街道办问", "go_ask_yourself"),
    ("你自己上网查吧", "go_ask_yourself"),
    ("你要自己跑一趟不动产登记中心办", "go_ask_yourself"),
    # 模糊承诺 with colloquial hedges
    ("估摸着下个礼拜能修好", "vague_promise"),
    ("说不准什么时候能来水", "vague_promise"),
    ("这个不一定能办下来", "vague_promise"),
    ("看情况吧,有消息会通知您", "vague_promise"),
    ("八成明天就能通水了", "vague_promise"),
    ("估计得等个十来天吧", "vague_promise"),
]


@pytest.mark.parametrize(("text", "rule"), BANNED)
def test_banned_families(analyzer: Analyzer, text: str, rule: str) -> None:
    for variant in both_styles(text):
        rules = [b.rule for b in analyzer.analyze("agent", variant).banned]
        assert rule in rules, (variant, rules)


@pytest.mark.parametrize(
    "text",
    [
        "您应该带上身份证和户口本原件",
        "可能需要您提供一下房产证复印件",
        "您可以拨打12315进行投诉",
        "您说得对,这个情况确实需要尽快处理",
        "好的好的,我马上帮您登记",
        "对对对,是在3号楼,我记下了",
        "我再给您解释一遍,您看这样是否清楚",
        "我知道了,我帮您记录下来",
        "这个情况不属于12345受理范围,建议您拨打110报警",
        "请您本人带上身份证到社保局窗口办理",
        "您可以自己上网办理,也可以我帮您预约",
        "您不用自己去找物业,我们来协调",
        "您大概什么时候发现漏水的?",
        "这种情况很多人都不知道,我给您解释一下",
        "您想投诉哪家单位?我帮您记录",
        "如果您还有不明白的地方,可以随时打过来",
        "估计是管道老化造成的,我们明天上午十点前派人检查",
        "您放心,这不是您的责任",
        "宝宝喂养的问题可以咨询社区医院",
        "您想怎么处理?我帮您记录",
        "您懂政策的话就好办了",
    ],
)
def test_compliant_look_alikes_are_not_banned(analyzer: Analyzer, text: str) -> None:
    assert analyzer.analyze("agent", text).banned == ()


# ---------------------------------------------------------------- request category

@pytest.mark.parametrize(
    ("text", "intent"),
    [
        # 求助: pleas and personal hardship
        ("求求你们帮帮我,孩子病了家里一分钱都没有", "求助"),
        ("我是真没办法了,房东把我东西扔出来了,现在没地方住", "求助"),
        ("谁能救救我们家,房子被水淹了", "求助"),
        ("老人一个人在家摔倒了起不来,我在外地赶不回去,能不能找人去看看", "求助"),
        ("我骑车被一辆小轿车撞了,腿疼得站不起来", "求助"),
        ("我一个人住,腿脚不方便,家里水管坏了自己弄不了", "求助"),
        ("我借给他两万块,现在他电话不接还把我拉黑了", "求助"),
        # 投诉举报: a named party's misconduct, without the word 投诉
        ("那个饭店老板缺斤少两,还骂人", "投诉举报"),
        ("社区那个工作人员态度特别差,把我材料直接扔出来", "投诉举报"),
        ("那个驾校乱收费,说好的三千多,现在又要加钱", "投诉举报"),
        ("窗口那个小姑娘爱答不理的,问三句答一句", "投诉举报"),
        ("出租车司机故意绕路,多收了我三十块", "投诉举报"),
        ("我们楼下有人非法行医,我要举报", "投诉举报"),
        ("上班时间窗口的人都在玩手机", "投诉举报"),
        ("晚上十二点了隔壁工地还在电焊", "投诉举报"),
        ("那家店把垃圾直接倒在路边", "投诉举报"),
        ("外卖里吃出了虫子", "投诉举报"),
        ("你们就知道收钱,拿着工资不干事", "投诉举报"),
        # 表扬: praise of work done
        ("我打电话是想感谢一下你们,上次的事办得特别好", "表扬"),
        ("我们全家想给社区送面锦旗", "表扬"),
        ("那个修路灯的师傅服务态度真好,我得给他点个赞", "表扬"),
        ("多亏了派出所的民警,帮我把丢的钱包找回来了", "表扬"),
        ("想表扬一下王医生,对我妈特别耐心", "表扬"),
        ("你们派来的王师傅真专业,半天就修好了", "表扬"),
        ("上回反映的路灯第二天就修好了,你们现在比以前强多了", "表扬"),
        # praise that retells the problem it was about (history discount)
        ("上次反映的漏水问题,物业很快就派人来修好了,我挺满意的", "表扬"),
        ("我家老人那天晕倒,120十分钟就到了,人救回来了,必须表扬一下", "表扬"),
        ("我之前投诉过楼下饭店油烟扰民,现在已经解决了,必须表扬一下城管", "表扬"),
        # a violation named outright is a report even with a request to check
        ("有个黑作坊在地下室做辣条,麻烦你们派人查一下", "投诉举报"),
        ("之前反映过好几次,物业还是乱收费", "投诉举报"),
        # look-alikes that keep their category
        ("我们小区路灯坏了一个礼拜了,麻烦派人修一下", "一般诉求"),
        ("请问投诉物业应该找哪个部门", "咨询"),
    ],
)
def test_category_classes(analyzer: Analyzer, text: str, intent: str) -> None:
    for variant in both_styles(text):
        assert analyzer.analyze("caller", variant).intent == intent, variant


# ---------------------------------------------------------------- caller emotion

@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("我真是受够了,天天半夜施工", "愤怒"),
        ("这事想起来就窝火", "愤怒"),
        ("什么玩意儿,一点责任心都没有", "愤怒"),
        ("楼上每天蹦到半夜,还让不让人睡觉了", "愤怒"),
        ("拿我们老百姓当猴耍呢", "愤怒"),
        ("难道就没人管了吗", "愤怒"),
        ("孩子后天就要考试了,准考证还没办好,急得我团团转", "焦虑"),
        ("这事火烧眉毛了,明天就截止", "焦虑"),
        ("我这几天愁得睡不着", "焦虑"),
        ("整天提心吊胆的,就怕那棵树砸下来", "焦虑"),
        ("我心里七上八下的,不知道找谁", "焦虑"),
        ("孩子后天开学,学籍的事一点消息都没有", "焦虑"),
        ("反映了无数次,说了等于没说,我也认命了", "失望"),
        ("反正每次都是这样,我也不想再反映了", "失望"),
        ("多亏了你们,问题这么快就解决了", "满意"),
        ("我不着急,您慢慢查", "平静"),
        ("我没生气,就是问问怎么办理", "平静"),
    ],
)
def test_emotion_classes(analyzer: Analyzer, text: str, label: str) -> None:
    for variant in both_styles(text):
        assert emotion(analyzer.analyze("caller", variant)) == label, variant


def test_colloquial_superlatives_raise_intensity(analyzer: Analyzer) -> None:
    def intensity(text: str) -> float:
        result = analyzer.analyze("caller", text)
        assert result.emotion is not None
        return result.emotion.intensity

    assert intensity("这事太气人") < intensity("这事太气人了,气得我要死")
    assert intensity("我有点着急") < intensity("我贼着急")


@pytest.mark.parametrize("text", ["我已经把一瓶安眠药都吃下去了", "我把农药全喝了", "我刚把一把药吞下去了"])
def test_pills_taken_in_the_ba_form_call_120(analyzer: Analyzer, text: str) -> None:
    """Stop 16's review: 我已经把一瓶安眠药都吃下去了 was not critical on the rules and got no 120 with the model."""
    result = analyzer.analyze("caller", text)
    assert result.critical and {"120", "12356"} <= {r.number for r in result.referrals}


@pytest.mark.parametrize("text", ["医生让我把药吃完", "把药片吃完了再睡", "我把安眠药都扔了",
                                  "我把安眠药吃了还是睡不着"])
def test_taking_medicine_as_prescribed_is_no_overdose(analyzer: Analyzer, text: str) -> None:
    assert not analyzer.analyze("caller", text).critical


@pytest.mark.parametrize(
    ("text", "ambulance"),
    [
        # new-user trial 10 and the retired v16: a cry for help or a thud, then silence — someone may be hurt
        ("楼上那家又在打孩子 孩子一直哭一直喊救命 然后咣当一声 就没动静了", True),
        ("今晚特别响,有摔东西的声音,女的一直喊别打了救命,现在突然没声了。", True),
        ("楼上装修天天叫 今天总算没动静了", False),
        ("孩子哭了一晚上 刚才终于不哭了没声了 我想问问儿童医院几点开门", False),
    ],
)
def test_a_cry_for_help_then_silence_calls_an_ambulance(analyzer: Analyzer, text: str, ambulance: bool) -> None:
    assert ("120" in numbers(analyzer.analyze("caller", text))) is ambulance, text


@pytest.mark.parametrize(
    ("text", "critical"),
    [
        # the last review of stop 21
        ("我把攒下来的安眠药都吃了", True),
        ("我把家里的安眠药全吃了", True),
        ("我把降压药一把都吞了", True),
        ("我们几个人吃完饭都吐了", True),
        ("食堂吃完午饭好多学生上吐下泻", True),
        ("孩子一个人在家门打不开了一直在哭", True),
        ("楼上扑通一声然后他就不说话了", True),
        ("我家门锁坏了开不开孩子放学回来在家里等着", False),
        ("我把家里的旧药都扔了", False),
    ],
)
def test_the_last_reviews_cases(analyzer: Analyzer, text: str, critical: bool) -> None:
    assert analyzer.analyze("caller", text).critical is critical, text
