"""Request category, handling department and referral numbers."""

from __future__ import annotations

import pytest

from assist.nlp.analyzer import Analyzer
from assist.protocol.enums import Role


@pytest.fixture(scope="module")
def analyzer() -> Analyzer:
    return Analyzer.load(use_kb=False)


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("我想问一下孩子上小学需要准备什么材料", "咨询"),
        ("我要投诉,小区物业乱收费", "投诉举报"),
        ("建议在我们小区附近增设一个公交站", "建议"),
        ("我想表扬一下城管的王师傅,特别负责", "表扬"),
        ("帮帮我,我被困在电梯里了", "求助"),
        ("我们楼下的路灯坏了,麻烦派人修一下", "一般诉求"),
        ("我不是来投诉的,就是想问问物业费怎么收", "咨询"),
    ],
)
def test_category(analyzer: Analyzer, text: str, intent: str) -> None:
    assert analyzer.analyze("caller", text).intent == intent


def test_greeting_has_no_category(analyzer: Analyzer) -> None:
    assert analyzer.analyze("caller", "你好").intent is None


@pytest.mark.parametrize(
    ("text", "department"),
    [
        ("小区维修基金怎么申请使用", "住建"),
        ("门口有人占道经营", "城管"),
        ("饭店卖过期食品", "市场监管"),
        ("公司拖欠工资三个月了", "人社"),
        ("我们家停水了", "水务"),
        ("整栋楼停电了", "供电"),
        ("家里燃气表坏了", "燃气"),
        ("暖气一点都不热", "供热"),
        ("公交车老是不按站停", "交通"),
        ("医院挂号太难了", "卫健"),
        ("孩子入学要什么材料", "教育"),
        ("医保报销比例是多少", "医保"),
        ("低保怎么申请", "民政"),
        ("工厂偷偷排污", "生态环境"),
    ],
)
def test_department(analyzer: Analyzer, text: str, department: str) -> None:
    assert analyzer.analyze("caller", text).department == department


def numbers(analyzer: Analyzer, text: str) -> list[str]:
    return [r.number for r in analyzer.analyze("caller", text).referrals]


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("朋友借钱不还,我想起诉他", "12348"),
        ("我要离婚,孩子抚养权怎么争取", "12348"),
        ("我的电动车被偷了", "110"),
        ("有人在小区门口打架", "110"),
        ("村干部贪污扶贫款", "12388"),
        ("家里着火了", "119"),
        ("我爸突然晕倒了", "120"),
        ("路口发生了交通事故", "122"),
        ("网购的衣服质量有问题商家不给退货", "12315"),
        ("养老保险断缴了怎么补", "12333"),
        ("个人所得税专项附加扣除怎么填", "12366"),
        # blind v17 (retired): the recogniser drops 税 (个人所得说); the annual settlement told without 税
        ("我把老房子卖了 这个个人所得说是百分之一还是百分之二十 怎么算", "12366"),
        ("年度汇算app里说我还要补钱", "12366"),
        ("哎呀他们把楼道里的电动车点着了 烟都冒上来了", "119"),  # a fire set (not 把灶点着了, 烟点着了)
        ("医生开的安眠药我一直攒着 今天晚上全吃了 现在有点迷糊", "120"),  # new-user trial 10: put by, then swallowed
        ("我老公拿刀砍我 我的手一直在流血", "120"),
        ("我在路口跟人刮了一下 对方不肯私了 也没人受伤 现在就堵在路中间", "122"),  # trial 9: the car unnamed
        ("高铁票怎么改签", "12306"),
        ("接到冒充客服的电话让我转账到安全账户", "96110"),
        ("我老公经常打我", "12338"),
        ("孩子在学校被同学欺负,校园霸凌", "12355"),
        # rescue and an ambulance for people under rubble; an ambulance for the hurt in an attack
        ("厂房塌了,有两个工人被压在下面了", "119"),
        ("厂房塌了,有两个工人被压在下面了", "120"),
        ("楼道里有人拿砖头打人,邻居大叔额头被打破了", "120"),
        ("家里一股煤气味,我奶奶说头晕想吐", "120"),
        ("我爸喝醉了在打我妈妈妈妈流血了", "120"),  # blind v12 (retired): the words between the blow and the blood
        ("屋里一股燃气味,我老伴刚才说头有点晕", "120"),
        ("我打了胰岛素忘了吃饭,现在浑身冒冷汗手一直抖", "120"),  # low blood sugar
        ("我低血糖犯了站不稳", "120"),
        # blind v13 (retired): heatstroke with its signs; extortion with a threat to burn the shop (话 = 说)
        ("我今天在工地上可能是中暑了,有点站不稳,还吐了两回", "120"),
        ("有人收保护费,唔畀就话今晚过嚟烧铺", "110"),
        ("那帮人放话要烧了我家", "110"), ("他们放话说要把我家烧了", "110"),  # the review of stop 17
        # blind v14 (retired): pills already swallowed, the topic first; short of breath with asthma now
        ("侬帮我记一记我安眠药已经吃下去了一歇歇就好了", "120"),
        ("我在电梯里卡了快一个钟头,我有点喘不上来,我有哮喘", "120"),
        # the road made dangerous now: the traffic police close it
        ("盘山公路上山体滑坡了,石头滚到路面上,车还在往上开", "122"),
        ("下穿隧道里积水快到车窗了,还有车往里开", "122"),
        # national security and the crisis line asked for by name
        ("有个人天天在军港外面用长焦相机拍军舰", "12310"),
        ("网上有人出高价让我去拍部队营区的照片", "12310"),
        ("心理危机干预的电话是多少?", "12356"),
        # the retired blind v18's missed numbers
        ("我是外卖的刚送餐到那个小区看见十二楼窗户外面坐着一个人腿在外面晃我喊他他也不理", "119"),
        ("楼上两口子天天半夜吵架今天更厉害了那个男的在喊要掐死她然后女的声音一下子就没了", "120"),
        ("我在一家私立幼儿园当老师,园长说这学期效益不好,工资先发一半,剩下的年底看情况。", "12333"),
        ("去年离职后做自由职业,给几家公司写稿,他们代扣了20%的税,我这种年底能退吗?", "12366"),
        ("个体户定额税怎么核定?找哪里?", "12366"),
        ("嗯你好我想问一下我们公司是小规模那税人今年那个六税两费减半还有没有", "12366"),
    ],
)
def test_referral_numbers(analyzer: Analyzer, text: str, number: str) -> None:
    assert number in numbers(analyzer, text)


def test_referral_output_has_name_reason_and_script(analyzer: Analyzer) -> None:
    ref = analyzer.analyze("caller", "朋友欠钱不还怎么办").to_dict()["referrals"][0]
    assert ref["number"] == "12348" and ref["name"] and ref["reason"] and ref["script"]
    assert ref["span"] == "欠钱不还"


def test_emergencies_come_first_and_are_critical(analyzer: Analyzer) -> None:
    result = analyzer.analyze("caller", "借款的事先不说了,我家楼下着火了")
    assert result.referrals[0].number == "119"
    assert result.critical and result.critical_reason and "119" in result.critical_reason


def test_fire_hazard_is_not_a_fire(analyzer: Analyzer) -> None:
    result = analyzer.analyze("caller", "楼道里堆满杂物,有火灾隐患")
    assert "119" not in [r.number for r in result.referrals]
    assert not result.critical


@pytest.mark.parametrize("text", ["孩子暑假想参加军事夏令营,哪里报名?", "我们公司要搞军事化管理,合法吗?"])
def test_military_words_in_ordinary_requests_give_no_12310(analyzer: Analyzer, text: str) -> None:
    assert "12310" not in numbers(analyzer, text)


def test_plain_request_has_no_referral(analyzer: Analyzer) -> None:
    assert numbers(analyzer, "路灯坏了麻烦修一下") == []


@pytest.mark.parametrize("text", ["上个礼拜有个老人骑车摔了腿都摔断了", "上个星期我爸中风了,现在已经出院了"])
def test_an_emergency_last_week_is_over_unless_it_goes_on(analyzer: Analyzer, text: str) -> None:
    # the second review: 上个礼拜…摔断了 raised a red 120 card in a routine call (上礼拜 was a past word, 上个礼拜 not)
    a = analyzer.analyze(Role.CALLER, text)
    assert not a.critical and "120" not in numbers(analyzer, text)


def test_an_emergency_that_began_last_week_and_goes_on_now_is_not_over(analyzer: Analyzer) -> None:
    assert analyzer.analyze(Role.CALLER, "上个星期我妈中风了现在还躺着起不来").critical


@pytest.mark.parametrize(("text", "critical"), [
    ("俺也不指望了这两天俺把后事都安排好了", True),  # blind v13 (retired): one's own funeral arranged
    ("我爸的后事安排好了,想问问丧葬补贴怎么领", False), ("我把我妈的后事办完了,想问问抚恤金", False),
    ("今天好热差点中暑,想问问高温补贴", False), ("你说要烧掉这些垃圾吗", False),
    # the review of stop 17: the topic first; a death just named, a funeral matter after; a past burning, hearsay
    ("低保还没发,后事我早就安排好了,也没啥牵挂", True), ("后事我都安排妥了,存折在抽屉里", True),
    ("我妈上个月去世了,我把后事都安排好了,想问丧葬补助怎么领", False),
    ("老伴走了俺把后事安排好了现在想问问抚恤金", False),
    # the independent review of stop 18: one's own arrangements after it, no punctuation, 走了 as leaving; 老伴走了,
    # 后事我都安排好了 is ambiguous (whose funeral?) and is flagged: missing a caller at risk is the worse error
    ("我把后事都安排好了,墓地也买好了", True), ("俺把后事都安排好了,抚恤金留给俺闺女", True),
    ("低保还没发后事我早就安排好了也没啥牵挂", True), ("他走了我把后事都安排好了", True),
    ("老伴走了,后事我都安排好了", True), ("给我妈办后事我都安排好了", False),
    ("那帮人放话要烧了我家", True), ("他说要砸了我的店", True),
    ("听说隔壁烧了家具", False), ("他说烧了家里的旧东西", False), ("小说里写烧了房子", False),
    ("我妈安眠药吃下去了还是睡不着", False), ("我有哮喘,跑两步就喘不上来,想问问医保", False),
    ("我妈的安眠药已经吃完了,想问问医保能不能多开一点", False), ("小区投放的老鼠药都吃光了,老鼠还是很多", False),
    ("前年一把火把俺家房子给烧了,现在还住在亲戚家,想问问有没有救助", False),
    # the review of stop 22: an engine started, a lamp or a mosquito coil lit is no fire; a plan is no pills swallowed
    ("我车子点着了以后仪表盘一直报警 4S店也不给修", False), ("早上汽车点着了又熄火了 是不是油有问题", False),
    ("屋子里点着了蚊香 味道很大", False), ("门口灯点着了一整晚 物业也不管", False),
    ("有人把楼道里的电动车给点着了 烟都冒上来了", True),
])
def test_own_funeral_heatstroke_and_threats_are_critical_their_look_alikes_not(analyzer: Analyzer, text: str,
                                                                               critical: bool) -> None:
    assert analyzer.analyze("caller", text).critical is critical


@pytest.mark.parametrize(("text", "number", "critical"), [
    # a public hazard now with people still passing it (the fourteenth round; blind v13's one miss was of this shape)
    ("中山路上塌了个坑,一米多宽还在往外扩,车照样从旁边开,你们到底有没有人来封路", "110", True),
    ("那栋写字楼外墙的玻璃又掉了一块,碎了一地,楼下人行道照常走人,物业连条警戒线都不拉", "110", True),
    ("盘山路那个急弯的护栏昨晚让车撞掉了一截现在就那么空着底下是沟车照样跑连个警示牌都没有", "110", True),
    ("公交站那个灯箱的线又露出来了下着雨呢那铁架子带电我刚才碰了一下麻了一下", "110", True),
    ("唉,我们村那座小桥的栏杆断了一截,孩子们天天从那过,报了半年了", None, False),  # chronic: a repair
    ("路灯坏了好几天了晚上走路看不见", None, False),
    # carbon monoxide from a coal or charcoal fire, told as a heating question; breathless on missed dialysis
    ("我们村有户人家冬天烧煤炉取暖,今早一家三口都说头疼想吐,孩子已经站不稳了,想问问能不能统一换电取暖", "120", True),
    ("我爸透析两天没做了,电梯坏了他下不了楼,现在腿肿得厉害,说话喘得接不上气", "120", True),
    ("去年冬天家里烧炭盆取暖有点头疼,想问问取暖补贴", None, False),  # past, and heating (烧炭盆 alone is the method)
    # charcoal with the room sealed is the method, whatever it is called
    ("我要在屋里烧炭取暖,我已经把窗户都用胶带封好了", "12356", True),
    # unresponsive, silent on the ground, a diabetic shaking and confused; worthless and asking for sleeping pills
    ("我爸刚才在菜地里摔倒了,人没反应,这里离镇上二十里地", "120", True),
    ("老人摔倒以后是不是不能扶啊我爸现在躺地上不说话", "120", True),
    ("我家老爷子糖尿病现在哆嗦得厉害说胡话", "120", True),
    ("他没反应过来,又问了我一遍", None, False),
    ("考研又没上,家里人都不理我,觉得自己就是多余的.请问药店买安眠药要处方吗", "12356", True),
    # the independent review of stop 19: the charcoal method under any name; complaints, stairs, heating, negations
    ("我准备在车里烧炭炉", "12356", True), ("我在屋里烧炭盆,门窗都关好了", "12356", True),
    ("投诉了好几次,他们都没反应", None, False), ("我给他发微信他没反应", None, False),
    ("我家烧煤炉取暖,冬天窗户都用塑料布封上了保暖", None, False), ("烧炉子的时候门窗要不要关死", None, False),
    ("外墙瓷砖掉了一块,物业说还在走流程", None, False), ("小区门口路面塌了,旁边超市照常开门", None, False),
    ("塌了个坑好几天了,车照样从旁边开,能不能来修一下", None, False),
    ("电梯坏了一个星期了,我七十多了每天爬八楼喘得接不上气,物业也不管", None, False),
    ("煤改电以后不烧煤炉了,但是老人说暖气不热头疼", None, False),
    ("我想问一下烧炭盆取暖安全吗,会不会头疼", None, False),
    ("检查了,护栏没有漏电", None, False), ("我家的灯箱漏电了能不能帮我修", None, False),
    # the retired blind v15's two misses: silent and sweating after insulin; dizzy at the stove with a smell there
    ("我问一下胰岛素医保能报多少我老伴打完针一直没起来叫他光出汗不说话", "120", True),
    ("我那个燃气表显示余额不足,想问问怎么充值.另外这两天一做饭就头晕,灶台那边有股味,不知道有没有关系.", "120", True),
    ("厨房灶台那边有股味,想问问燃气公司电话多少", None, False),
])
def test_hazards_now_and_carbon_monoxide(analyzer: Analyzer, text: str, number: str | None, critical: bool) -> None:
    r = analyzer.analyze(Role.CALLER, text)
    assert r.critical is critical, (text, r.critical_reason)
    if number is not None:
        assert number in {x.number for x in r.referrals}, [x.number for x in r.referrals]


@pytest.mark.parametrize(("text", "numbers", "critical"), [
    # the retired blind v15's misses and the fifteenth round's, by the rules
    ("工地那个大水坑边上有几个小孩在玩有一个已经滑下去了在水里扑腾", {"119", "120"}, True),
    ("就现在,深水区有个小孩一直在扑腾,没人下去,我不会游泳。", {"119", "120"}, True),
    ("我们小区电梯里有人推电动车进去电瓶炸了整个电梯都是烟门打不开里面还有人", {"119", "120"}, True),
    ("屋里厢一股煤气味道老早就有了我以为是隔壁烧菜今朝我眼睛有点花头也昏", {"119", "120"}, True),
    ("对面小区二十几楼有户人家窗户往外喷火,楼下好多人在看", {"119"}, True),
    ("那个驾校收了我四千块钱,半年了一次都没给我约考试", {"12315"}, False),
    ("我弟弟是智力残疾,前天晚上跑出去了,到现在还没找到。", {"110"}, True),
    ("我刚被野狗咬了小腿,肉都翻出来了,血流了一地,现在有点站不稳。", {"120"}, True),
    # a rescuer's 跳下去 is no suicide; a jumper rescued or one about to jump still is (the reviews of stop 20)
    ("有个女的在天台边上要跳下去消防员正在想办法把她救上来", {"12356"}, True),
    ("我妈刚才从河堤上跳下去了被路人救上来了", {"12356"}, True), ("他要跳下去快来人把他拉上来", {"12356"}, True),
    # and their look-alikes (the independent review of stop 20)
    ("鸭子在塘里扑腾", set(), False), ("手机掉到水里冒泡了", set(), False),
    ("夏天很多孩子在河里扑腾,建议设置警示牌", set(), False), ("电梯里有人抽烟,里面有人", set(), False),
    ("楼下饭店的窗户天天往外冒黑烟,油烟太大了", set(), False), ("杀鸡杀得血流了一地", set(), False),
    ("我鼻子流血流了一地现在止住了", set(), False), ("我儿子出去找工作一直没找到", set(), False),
    ("我家孩子出去打工了,到现在都没找到工作", set(), False), ("孩子出门的时候把钥匙丢了到现在还没找到", set(), False),
    ("我家孩子养的兔子跑出去了到现在没找到", set(), False),
    ("中介老板收了我三千块钱,一直没给我安排工作", set(), False),
])
def test_rescues_and_numbers_of_stop_20_and_their_look_alikes(analyzer: Analyzer, text: str, numbers: set[str],
                                                              critical: bool) -> None:
    a = analyzer.analyze(Role.CALLER, text)
    assert a.critical is critical and numbers <= {r.number for r in a.referrals}, text
    if not numbers:
        assert not {"110", "119", "120", "12315"} & {r.number for r in a.referrals}, text
    # a gas smell with the dizziness denied or old adds no ambulance
    for said in ("燃气味很重,不过我没有头昏", "有点煤气味,我之前就头昏,老毛病了"):
        assert "120" not in {r.number for r in analyzer.analyze(Role.CALLER, said).referrals}, said


@pytest.mark.parametrize(("text", "ambulance"), [
    ("攒了半年的安眠药 刚才都吃了", True),
    ("医生开的安眠药我一直攒着 想着哪天受不了了就全吃了", False),  # a plan (12356 and 110), not pills swallowed
])
def test_pills_put_by_are_an_ambulance_only_once_swallowed(analyzer: Analyzer, text: str, ambulance: bool) -> None:
    """The review of stop 22."""
    assert analyzer.analyze("caller", text).critical and ("120" in numbers(analyzer, text)) is ambulance


def test_income_named_in_a_compensation_question_is_no_tax_line(analyzer: Analyzer) -> None:
    assert "12366" not in numbers(analyzer, "拆迁补偿款是个人所得还是家庭共有的")


def test_a_window_cleaner_outside_a_balcony_is_no_fall(analyzer: Analyzer) -> None:
    assert not analyzer.analyze("caller", "阳台外边站着个人在擦玻璃").critical


@pytest.mark.parametrize(("text", "number"), [
    # the retired blind v19's three callers at risk the engine missed
    ("我真是服了你们燃气公司上礼拜刚来换的表现在接口那一直滋滋响满屋子都是味儿你们赶紧派人来", "119"),
    ("就是我们村口那个铁道口的栏杆坏了放不下来火车马上要过了那边还有拖拉机在过道口", "110"),
    ("我是写字楼的夜班保安啊十七楼的烟感报警了我上去看了会议室里有明火我已经拉了消防栓在接水带", "119"),
])
def test_the_callers_at_risk_the_retired_v19_missed(analyzer: Analyzer, text: str, number: str) -> None:
    a = analyzer.analyze("caller", text)
    assert a.critical and number in numbers(analyzer, text), text


def test_an_open_flame_named_in_advice_is_no_fire(analyzer: Analyzer) -> None:
    assert not analyzer.analyze("caller", "燃气灶点火的时候旁边不要使用明火吗").critical


@pytest.mark.parametrize(("text", "expected"), [
    # the retired blind v20's four callers at risk the engine missed
    ("燃气公司上周来查过说没事,可我家厨房还是一股味,比上周重多了,我老公正准备开火做饭。", {"119"}),
    ("公交司机跟你们反映一下:有位老太太坐了三圈了,问她去哪说不清,只说要找“老三”,身上也没有联系卡。", {"110"}),
    ("我跟你讲你们这个低保审了半年都不给批我也不指望了手上划了好几道了血也止不住你们爱批不批吧", {"120", "12356"}),
    ("我就问一句,小区保安有没有权力打业主?我爸现在被三个保安按在地上打,到现在都没放开!", {"110", "120"}),
    # and the numbers it missed beside them
    ("我是外卖员,路过一家快餐店后厨,油锅着起来了,火窜到排烟管道上去了,里面还有人。", {"119", "120"}),
    ("人民路和解放路口有根电线被风刮断了,一头掉在积水里冒火花,放学的孩子马上要从这儿过。", {"110", "95598"}),
    ("前夫在我家楼下蹲了两个小时了,刚发短信说今晚不让他见孩子就让我全家好看,他车里好像放着铁棍。", {"110", "12338"}),
    ("邻居家门口燃气表那块味道很大,他家老两口都在家,敲门半天没人应。", {"119", "120"}),
    ("孩子把自己锁在车里了,钥匙也在里面,今天35度,他才两岁,已经哭得没声了!", {"119", "120"}),
    ("山里下暴雨,我们五个人徒步被困在溪对岸,水涨得特别快,有个人脚还扭了。", {"119", "120"}),
    ("我跟你讲我闺女在学校被几个人堵在厕所里了嗯她刚给我发消息说他们拿打火机烧她头发", {"110", "12355"}),
])
def test_the_callers_at_risk_the_retired_v20_missed(analyzer: Analyzer, text: str, expected: set[str]) -> None:
    a = analyzer.analyze("caller", text)
    assert a.critical and expected <= set(numbers(analyzer, text)), text


@pytest.mark.parametrize(("text", "expected"), [
    ("手机被骗子远程控制转走了两万,警已经报了,后面该怎么办我完全没主意。", "96110"),
    ("我是三年级班主任,班里一个孩子刚跟我说,他爸讲今天放学回家要“打死他”,孩子胳膊上全是烟头烫的疤。", "12338"),
    ("喂你好我一个人带娃孩子他爸不给抚养费我想打官司又请不起律师", "12338"),
    ("那个我是残疾人嗯想找个工作一直找不到有没有什么就业帮扶", "12333"),
    ("嗯那个我家孩子在学校被同学孤立了天天不想去上学我不知道咋跟老师开口", "12355"),
])
def test_the_ordinary_numbers_the_retired_v20_missed(analyzer: Analyzer, text: str, expected: str) -> None:
    assert expected in numbers(analyzer, text), text


@pytest.mark.parametrize("text", [
    "上周我被保安按在地上打过一次,现在想问问怎么投诉物业",  # a beating told as past
    "上周刮台风电线被吹断,供电所半夜就来抢修了,现在一切正常,我要表扬供电所的师傅们。",
    "我家孩子手上划了一道口子,贴了创可贴",
    "孩子上学期在学校被同学堵在厕所里打过一次学校处理了现在想转学", "我家燃气灶没什么味道就是打不着火",
    "我车里放着一把砍刀是切西瓜用的",
])
def test_look_alikes_of_the_retired_v20_rules(analyzer: Analyzer, text: str) -> None:
    a = analyzer.analyze("caller", text)
    assert not a.critical and "95598" not in numbers(analyzer, text), text



# The review of stop 23 (of the rules written for the retired blind v20): its probes, as it wrote them.
@pytest.mark.parametrize("text", [
    "我在手机上划了好几下都没反应",
    "那个自助机我在手机上划了几下就卡住了",
    "手机屏幕划了好几道",
    "扶手上划了好几道印子",
    "手续上划了好几道杠",
    "车门把手上被人划了好几道",
    "我手上划了好几道口子,是搬家的时候被玻璃划的,已经包好了",
    "干活的时候手上割了好几道,不严重",
    "我手上划了好几道,你们这个小区的铁栏杆太锋利了",
    "电视剧里那个人被按在地上打,看着真解气",
    "我看抖音上有个视频城管把人按在地上打",
    "小区保安有没有权力把业主按在地上打",
    "如果有人被按在地上打应该打什么电话",
    "摔跤比赛的时候他被对手按在地上打",
    "上次我爸被保安按在地上打,到现在也没个说法",
    "我去年被按在地上打到现在官司还没打完",
    "我爸被按在地上打那个事,派出所处理了没有",
    "我老公今晚加班一会儿回来收拾屋子",
    "我老公今晚要收拾行李出差",
    "我老公说今晚回来把厨房收拾一下",
    "我男人一会儿回来收拾下水道",
    "我老公马上到家,收拾好就出发去医院",
    "我老公说家里蟑螂太多了今晚回来全打死",
    "我老公不会今晚就弄死我吧哈哈开玩笑的",
    "他车里放着棍子是钓鱼用的",
    "我老公车里放着汽油是给割草机用的",
    "他车里放着刀具",
    "他兜里揣着刀子",
    "我被堵在巷子里,前面修路过不去",
    "我被堵在楼道里了,楼道里全是杂物出不去",
    "小区的车被围在巷子里出不去",
    "我家狗被关在楼道里叫了一晚上",
    "我们被围在巷子里看热闹",
    "我儿子小时候被关在教室里过一次",
    "万一孩子被同学堵在厕所里怎么办",
    "他拿打火机烧他自己的衣服玩",
    "我孩子拿打火机烧他自己的头发玩",
    "有个老大爷问他去哪说不清,后来他家人找过来了",
    "有个老人问他去哪说不清,我们已经把他送到派出所了",
    "我爷爷有点老年痴呆问他家住哪都不知道",
    "我奶奶最近记性不好问她住哪也不知道我想问问怎么办残疾证",
    "燃气灶的油烟味道很大",
    "燃气管道旁边垃圾味道很大",
    "我们家燃气表旁边的下水道味道很大",
    "燃气那边的油漆味道很大",
    "着火的时候屋里还有人,现在都出来了",
    "被困在高速上三个小时,腰都坐断了",
    "献血都停不下来了哈哈",
    "我这个热血都停不下来",
    "血糖也止不住往上涨",
    "我妈血压还止不住地往上升",
    "我把钥匙锁在车里了,太阳这么晒怎么办",
    "手机锁在车里了,外面38度",
    "我的狗被关在车里太热了",
    "我们被困在车里了,堵车堵了三个小时,车里好闷",
    "燃气味道不大",
    "孩子上学期在学校被同学堵在厕所里打过一次学校处理了现在想转学",
    # the second review
    "护士按着孩子打针",
    "妈妈按着孩子打疫苗",
    "昨天我被保安按在地上打了现在还疼",
    "上周城管把我按在地上打现在我要讨个说法",
    "前两天我老公被几个人按在地上打 现在住院了",
    "我哥前年被人按在地上打到现在还有后遗症",
    "我被城管按在地上打了一顿 这事你们管不管 已经一个礼拜了",
    "那个保安把人按着打,昨天的事",
    "听说隔壁小区保安把业主按在地上打",
    "我看新闻说有个人被按在地上打这种事谁管",
    "我儿子被人打了现在还在打吊针",
    "我儿子被人打了现在还在打点滴",
    "我儿子被人打了现在还在打官司",
    "我儿子被老师打了现在还在打电话跟我哭",
    "我在学校被人打了现在还在打游戏的同学都笑我",
    "我老公说今天晚上回来收拾你们家那个厨房",
    "男人今天非要收拾他那个破车",
    "他爸说晚上回来收拾他的玩具",
    "前夫今晚来接孩子说要收拾孩子的房间",
    "孩子他爸说今天晚上回来打死他那只狗",
    "我不小心划了自己一下",
    "他用刀划了自己一下不小心的",
    "划了自己一下纸划的",
    "我割了自己一刀割破手指了切菜的时候",
    "他拿打火机烧他的作业本",
    "他用烟头烫我们家沙发",
    "我们被一群记者围在楼道里",
    "孩子被他们几个关在宿舍门外了",
    "去年着火的时候老人还在屋里 现在消防通道还是堵着",
    "我们被困在这个项目里了我脚都扭了",
    "以前燃气味道很大现在换了新管子没味了",
])
def test_look_alikes_of_the_new_crisis_patterns_raise_no_card(analyzer: Analyzer, text: str) -> None:
    assert not analyzer.analyze("caller", text).critical, text


@pytest.mark.parametrize(("text", "number"), [
    ("宿舍被阿姨打扫干净了", "12355"), ("孩子在学校被安排打疫苗", "12355"), ("同学被叫去打篮球了", "12355"),
    ("我家孩子在学校被老师打了个低分", "12355"), ("宿舍楼被围起来了要装修", "12355"),
    ("我闺女今天在学校被同学堵在教室里表白了", "12355"), ("孩子在学校被打了针过敏了", "110"),
    ("抽烟的人乱扔烟头烫坏了我家地毯", "12338"), ("她妈烫了个头", "12338"), ("他妈虐待他家的狗", "12338"),
    ("他妈的虐待动物的人就该抓", "12338"), ("前夫给孩子买的衣服挺好看的", "12338"),
    ("前夫在外面堵车了没来接孩子", "12338"), ("我前夫说要收拾他的东西搬走", "12338"),
    ("残疾人停车位被占了,我找个工作人员都没有", "12333"), ("我们公司楼下的咖啡店热死人了", "12333"),
    ("我想问一下远程控制软件怎么安装", "96110"), ("公司开会用屏幕共享总是卡", "96110"),
    ("他冒充领导的口气骂人", "96110"),
    ("电线掉漆了", "95598"), ("电缆沟的盖板掉了", "95598"), ("楼上空调外机的电线垂到我家窗户了", "95598"),
    ("楼道里的电线乱搭在墙上,物业不管", "95598"), ("我把钥匙锁在车里了,太阳这么晒怎么办", "119"),
    ("我的狗被关在车里太热了", "119"), ("燃气味道不大", "119"), ("火太大了,里面还有人", "110"),
    # the second review
    ("手机充电线断了", "95598"), ("电动车充电线掉地上了", "95598"), ("公司IT客服用远程控制帮我装软件", "96110"),
    ("屏幕共享功能要钱吗", "96110"), ("孩子在学校宿舍下水道被堵了", "12355"), ("宿舍被烧了个洞 电热毯", "12355"),
    ("孩子在学校被打了一针过敏了", "12355"), ("前夫在楼下堵车了要晚点来接孩子", "12338"),
    ("他抽烟不小心烟头烫了我一下", "12338"), ("烟头烫了他的衣服", "12338"), ("我是孩子爸爸 孩子妈不出抚养费", "12338"),
    ("前妻不给抚养费怎么办", "12338"), ("单位门口热死人了没遮阳棚", "12333"),
])
def test_numbers_the_new_patterns_must_not_give(analyzer: Analyzer, text: str, number: str) -> None:
    assert number not in numbers(analyzer, text), text


@pytest.mark.parametrize(("text", "expected"), [
    ("我又割了自己几刀", {"12356"}), ("胳膊上全是我自己划的口子", {"12356"}),
    ("我爸现在被三个保安按在地上打之前就打过一次", {"110", "120"}), ("我爸被保安按在地上打过好几次了今天又打", {"110"}),
    ("我爸被保安按在地上打你们快派人来上个月就打过他", {"110", "120"}), ("保安把我爸摁地上打", {"110"}),
    ("我爸被保安按着打", {"110"}), ("他们把我按在地上踹", {"110"}), ("前夫说不让他见孩子就让我好看", {"110", "12338"}),
    ("前夫刚发短信说晚上来找我算账", {"110"}), ("我闺女现在被几个女生堵在厕所里了以前也被她们欺负过", {"110"}),
    ("我女儿被同学堵在厕所里学校处理了也没用现在又来了", {"110"}),
    ("有个老太太在我店门口坐了一上午问她家住哪她说不知道", {"110"}),
    ("小区门口有个老大爷,问他住哪他说不记得了", {"110"}),
    ("有个老人在路边坐着问他家在哪他光摇头", {"110"}), ("火太大了,里面还有人", {"119", "120"}),
    ("火很大,屋里有人在睡觉", {"119", "120"}), ("那家店着火了,里面还有人没出来", {"119", "120"}),
    ("火很大他家老人还在屋里", {"119", "120"}), ("困在山上了,天黑了,有个同伴崴了脚", {"119", "120"}),
    ("孩子他爸说回来打死他", {"110", "12338"}), ("我孩子在学校被人打了现在还在打", {"110"}),
    # the second review (after the first review's fixes)
    ("上次报过警没用他们又把我爸按在地上打", {"110", "120"}),
    ("以前也投诉过物业没用今天保安又把我爸按在地上打", {"110", "120"}),
    ("他上个月按在地上打过我今天又按在地上打", {"110", "120"}),
    ("那几个人把我爸摁倒了 拳打脚踢的", {"110", "120"}),
    ("他把我按在床上打", {"110", "120"}),
    ("前夫今天又来了说要是今晚不让他见孩子就让我全家好看", {"110", "12338"}),
    ("前夫说如果不让见孩子就让我好看", {"110", "12338"}),
    ("他说要是不给钱就弄死我", {"110"}),
    ("孩子还在车里车门锁了外面快四十度了", {"119", "120"}),
    ("娃在车里锁着呢天太热了", {"119", "120"}),
    ("我奶奶出门了打电话问她在哪她说不知道", {"110"}),
    ("我妈一个人出去了打电话问她在哪她说不清楚周围都是楼", {"110"}),
    ("有个老人问他在哪儿住他说记不清了", {"110"}),
    ("血怎么都止不住", {"120"}),
    ("电线断了 掉在路上 还有孩子在旁边玩", {"110", "95598"}),
    ("我爸现在被三个保安按在地上打之前就打过一次", {"110", "120"}),
    ("我跟你讲你们这个低保审了半年都不给批我也不指望了手上划了好几道了血也止不住你们爱批不批吧", {"120", "12356"}),
])
def test_wordings_the_new_patterns_first_missed(analyzer: Analyzer, text: str, expected: set[str]) -> None:
    assert analyzer.analyze("caller", text).critical and expected <= set(numbers(analyzer, text)), text


@pytest.mark.parametrize(("text", "number"), [
    ("大树被雷劈断了一半,挂在电线上晃", "95598"), ("有棵树倒了压着电线", "95598"), ("继母不给饭吃还打孩子", "12338"),
    ("前夫欠的抚养费一直不给", "12338"),
])
def test_numbers_the_new_patterns_first_missed(analyzer: Analyzer, text: str, number: str) -> None:
    assert number in numbers(analyzer, text), text




def test_numbers_the_second_review_found_missing(analyzer: Analyzer) -> None:
    assert "110" in numbers(analyzer, "手机被骗子远程控制转走了两万")
    assert "110" in numbers(analyzer, "我前男友天天在我单位门口堵我")


@pytest.mark.parametrize("text", [
    "我是地下车库的保安有辆车一晚上没熄火还冒烟车里有个人我敲窗他没反应",
    "我同事刚才过去看了一下现在头晕想吐那辆车发动机一直开着",
])
def test_a_car_running_with_people_silent_or_dizzy_is_an_ambulance(analyzer: Analyzer, text: str) -> None:
    """New-user trial 12: a guard's car running all night in the garage got a fire card and fire steps."""
    assert analyzer.analyze("caller", text).critical and "120" in numbers(analyzer, text), text
    assert not analyzer.analyze("caller", "我车没熄火就下去买了瓶水").critical


@pytest.mark.parametrize(("text", "expected"), [
    # the retired blind v22's one caller at risk the engine missed: a beating and his word that he comes tonight
    ("请问人身安全保护令怎么申请?要几天能下来?他说今晚还会过来,上次打得我住了一周院。", {"110", "12338"}),
    ("我前夫上次打得我缝了三针,他刚发短信说今晚要过来", {"110"}),
    # and the ambulance it missed beside a fire or pills
    ("房东把一楼隔成了十几个单间出租,最里面那间刚着火了,只有一个出口,好几个人还没出来。", {"119", "120"}),
    ("我在外地出差,家里监控画面显示客厅全是烟,我奶奶一个人在家,耳朵还背。", {"120"}),
    ("也没什么大事,就想问问房子能不能过户给我女儿。这两天安眠药吃得有点多,现在头晕晕的。", {"120"}),
])
def test_the_callers_at_risk_the_retired_v22_missed(analyzer: Analyzer, text: str, expected: set[str]) -> None:
    a = analyzer.analyze("caller", text)
    assert a.critical and expected <= set(numbers(analyzer, text)), text


@pytest.mark.parametrize(("text", "expected"), [
    ("喂我们家楼下那个配电箱门一直开着线头露在外面倒是挂得挺高小孩够不着就是看着不放心", "95598"),
    ("我们村这个月已经停了四次电,冰箱里的东西都坏了,能不能查查线路?", "95598"),
    ("暴雨把小区门口的电线杆刮倒了,电线就泡在积水里,小学生马上放学要从这儿过。", "95598"),
    ("我五十多岁了厂子倒闭了出去找工作人家都嫌我年纪大有没有什么公益性岗位", "12333"),
    ("失业半年了,存款快花光了,下个月房租都交不上,想问问有什么救助能申请。", "12333"),
    ("大学毕业一年了还没找到工作,家里也没什么关系,有没有免费的就业培训或者见习岗位?", "12333"),
    ("我妈被那个保健品讲座骗了两万多块钱说是能治糖尿病现在还天天去听你们快去查查", "96110"),
    ("跟团游去了才发现行程被改了,请问旅行社这样能退钱吗?找哪里反映?", "12315"),
])
def test_the_ordinary_numbers_the_retired_v22_missed(analyzer: Analyzer, text: str, expected: str) -> None:
    assert expected in numbers(analyzer, text), text


@pytest.mark.parametrize(("text", "number"), [
    ("我高三,考砸了,现在一个人在江边,手机快没电了", "95598"),  # a phone's battery is no power cut
    ("电动车没电了推不动,附近有没有充电的地方", "95598"),
    ("厨房着火了已经灭了人都出来了", "120"),  # everyone out
    ("安眠药吃多了会不会头晕啊", "120"),  # a question, not pills swallowed
    ("他昨天说今晚会过来吃饭", "110"),  # no beating before
    ("帮我儿子找个学校", "12333"),
])
def test_numbers_the_v22_patterns_must_not_give(analyzer: Analyzer, text: str, number: str) -> None:
    assert number not in numbers(analyzer, text), text


# The review of stop 24 (of the rules written for the retired blind v22): its probes, as it wrote them.
@pytest.mark.parametrize("text", [
    "上次打得我住了院,他说今晚过来", "他上次打得我住院了他说今天晚上过来",
    "那个男的上次打得我缝了五针 他说待会儿过来找我",
    "上次打得我断了两根肋骨 那个人说了今晚还来找我", "他上次打得她住院了,他说今晚还来",
    "上次他打得我住院了,我前夫说了,今晚就过来",
    "上次他把我打得住院了,他发消息说今天晚上过来", "上次他把我打进医院了他说今晚要过来",
    "那次他打我打得住院了他说今晚要过来",
    "他打得我住院才出来一个礼拜,他说今晚还要来", "他前年打得我住院 今天他说晚上要来", "上礼拜他打得我住院,他说今晚还来",
    "安眠药多吃了几片,现在头好晕",
])
def test_a_man_who_beat_her_coming_tonight_however_told(analyzer: Analyzer, text: str) -> None:
    assert analyzer.analyze("caller", text).critical, text


@pytest.mark.parametrize("text", [
    "前几天我爸心梗住院了,医生说明天会过来查房", "上次燃气泄漏,燃气公司说明天要来换管子",
    "上周电梯困人了,维保说明天会来检修",
    "上个月我爸中风了,医生说明天会来复查", "上次打得我住院那个人是我邻居,他说今晚要来道歉",
    "我这个降压药吃多了就头晕,能不能换药", "感冒药吃多了有点迷糊,我想问医保能报吗",
    "小区那个烟囱一直冒烟,我妈一个人在家总咳嗽,能不能管管",
])
def test_past_dangers_and_habits_the_v22_rules_first_raised(analyzer: Analyzer, text: str) -> None:
    assert not analyzer.analyze("caller", text).critical, text


@pytest.mark.parametrize(("text", "number"), [
    ("宿舍着火了,个人物品还在里头", "120"), ("着火了孩子的东西还在里面", "120"), ("着火了,奶奶一个人在家,已经跑出来了",
    "120"),
    ("我儿子失业在家打游戏天天跟我吵", "12333"), ("我们楼停了两天电梯了,老人上不去", "95598"),
    ("墙上那个网线线头露出来了很难看", "95598"), ("我参加了个养生讲座,讲得很好,不是骗人的", "96110"),
    ("保健品是不是骗人的,我想咨询一下", "96110"), ("导游证考试报名退费怎么退", "12315"),
    ("旅行社退钱的事情已经解决了谢谢", "12315"),
])
def test_numbers_the_v22_rules_first_gave(analyzer: Analyzer, text: str, number: str) -> None:
    assert number not in numbers(analyzer, text), text


@pytest.mark.parametrize(("text", "number"), [
    ("楼道里冒烟了,好几个人还没下来", "120"), ("家里快没电了,电卡里没钱了,在哪里充", "95598"), ("电线杆倾斜了好几天了",
    "95598"),
    ("导游强制购物不买不让走", "12315"),
])
def test_numbers_the_v22_rules_first_missed(analyzer: Analyzer, text: str, number: str) -> None:
    assert number in numbers(analyzer, text), text


@pytest.mark.parametrize("text", [
    # the retired blind v23's look-alikes the rules raised: a first-aid course, praise for a rescue last month, a gas
    # smell aired out
    "请问儿童溺水急救的培训课在哪里可以报名?我们幼儿园老师想集体去学。",
    "我要表扬那个一二零的急救员 上个月我爸心梗 他们来得特别快 现在我爸出院了 恢复得挺好",
    "没事了没事了 刚才那个煤气味 是我自己灶台没关好 现在关了 窗户也都开了 味道散了 就是想问问要不要找人来检查一下",
    "三个孩子下去游泳 都上来了 没事", "我们下去游泳只有一个小时的时间",
])
def test_the_look_alikes_the_retired_v23_raised(analyzer: Analyzer, text: str) -> None:
    assert not analyzer.analyze("caller", text).critical, text


@pytest.mark.parametrize(("text", "expected"), [
    ("我爸刚出院了又晕倒了 叫不醒", {"120"}), ("孩子掉河里溺水了 快来", {"119", "120"}),
    ("我家有煤气味 窗户开了 味道还是很大", {"119"}),
    ('我前夫刚在楼下发微信说"你不开门我就砸车,然后上去",他之前因为打我被拘留过,现在我和孩子在家。', {"110", "12338"}),
    ("前男友说不开门就砸门", {"110", "12338"}),
    # swimmers not all come up (a training caller once caught by 防溺水 alone)
    ("我想问一下你们是不是有防溺水宣传?我们村水库边上,刚才三个小孩下去游泳,现在只看到两个上来。", {"119"}),
    ("我儿子下河游泳半个小时了还没上来", {"119"}), ("五个人下水 只上来了三个", {"119"}),
])
def test_their_dangers_still_raise_the_card(analyzer: Analyzer, text: str, expected: set[str]) -> None:
    assert analyzer.analyze("caller", text).critical and expected <= set(numbers(analyzer, text)), text
