"""Data files: the shipped ones load; broken ones give errors naming the file and the entry."""

from __future__ import annotations

import shutil
import tomllib
from pathlib import Path

import pytest

from assist.nlp.analyzer import Analyzer
from assist.nlp.banned import BannedList
from assist.nlp.data import DEFAULT_DATA_DIR, DataError
from assist.nlp.emotion import EmotionModel
from assist.nlp.empathy import EmpathyScripts
from assist.nlp.intent import DEPARTMENTS, IntentModel
from assist.nlp.normalize import normalize
from assist.nlp.referral import ReferralTable

CONTRACT_DEPARTMENTS = [
    "住建", "城管", "市场监管", "人社", "公安", "交通", "卫健", "教育", "生态环境", "水务", "供电", "燃气",
    "供热", "民政", "医保", "自然资源", "农业农村", "文旅", "税务", "应急管理", "通信管理", "司法", "街道社区", "信访",
]


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_shipped_data_loads_and_uses_the_contract_departments() -> None:
    analyzer = Analyzer.load(use_kb=False)
    assert list(DEPARTMENTS) == CONTRACT_DEPARTMENTS
    assert set(analyzer.intent.departments) == set(CONTRACT_DEPARTMENTS)


def test_every_referral_has_a_script_and_the_required_numbers() -> None:
    table = ReferralTable.load(DEFAULT_DATA_DIR / "referrals.toml")
    required = {"110", "119", "120", "122", "12348", "12388", "12356"}
    assert required <= set(table.rows)
    assert all(info.script and info.reason and info.name for info in table.rows.values())


def test_invalid_toml_names_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, "banned.toml", "[[rule]\nid = ")
    with pytest.raises(DataError, match=r"banned\.toml: invalid TOML"):
        BannedList.load(path)


def test_missing_file_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"emotion\.toml: file not found"):
        EmotionModel.load(tmp_path / "emotion.toml")


def test_bad_regex_names_the_entry(tmp_path: Path) -> None:
    path = write(tmp_path, "banned.toml",
                 '[[rule]]\nid = "x"\ncategory = "禁用语"\nsuggestion = "请讲"\npatterns = ["(unclosed"]\n')
    with pytest.raises(DataError, match=r"banned\.toml: rule\[1\] \(x\): bad regular expression"):
        BannedList.load(path)


def test_unknown_key_is_reported(tmp_path: Path) -> None:
    path = write(tmp_path, "banned.toml",
                 '[[rule]]\nid = "x"\ncategory = "禁用语"\nsuggestion = "请讲"\nwords = ["喂"]\nsugestion = "typo"\n')
    with pytest.raises(DataError, match=r"rule\[1\] \(x\): unknown key\(s\) sugestion"):
        BannedList.load(path)


def test_duplicate_rule_id(tmp_path: Path) -> None:
    rule = '[[rule]]\nid = "x"\ncategory = "禁用语"\nsuggestion = "请讲"\nwords = ["喂"]\n'
    with pytest.raises(DataError, match="used twice"):
        BannedList.load(write(tmp_path, "banned.toml", rule + rule))


def test_unknown_department_is_rejected(tmp_path: Path) -> None:
    intent = shutil.copy(DEFAULT_DATA_DIR / "intent.toml", tmp_path / "intent.toml")
    deps = write(tmp_path, "departments.toml",
                 'canonical = ["住建"]\n[[topic]]\ndepartment = "房管局"\nweight = 1\nwords = ["物业"]\n')
    with pytest.raises(DataError, match=r"departments\.toml: topic\[1\]: 'department' must be one of 住建"):
        IntentModel.load(Path(intent), deps)


def test_unknown_intent_category(tmp_path: Path) -> None:
    deps = shutil.copy(DEFAULT_DATA_DIR / "departments.toml", tmp_path / "departments.toml")
    intent = write(tmp_path, "intent.toml",
                   'priority = ["求助", "投诉举报", "一般诉求", "建议", "表扬", "咨询"]\n'
                   '[[cue]]\ncategory = "闲聊"\nweight = 1\nwords = ["你好"]\n')
    with pytest.raises(DataError, match=r"intent\.toml: cue\[1\]: 'category' must be one of"):
        IntentModel.load(intent, Path(deps))


def test_referral_number_must_be_digits(tmp_path: Path) -> None:
    path = write(tmp_path, "referrals.toml",
                 '[[referral]]\nnumber = "12-348"\nname = "法律"\nreason = "r"\nscript = "s"\nwords = ["离婚"]\n')
    with pytest.raises(DataError, match=r"referral\[1\] \(12-348\): 'number' must be 3 to 8 digits"):
        ReferralTable.load(path)


def test_emotion_weight_out_of_range(tmp_path: Path) -> None:
    text = (DEFAULT_DATA_DIR / "emotion.toml").read_text(encoding="utf-8")
    text = text.replace("weight = 1.0", "weight = -3", 1)
    with pytest.raises(DataError, match=r"emotion\.toml: keyword\[1\] \(愤怒\): 'weight' must be between"):
        EmotionModel.load(write(tmp_path, "emotion.toml", text))


def test_empathy_unknown_placeholder(tmp_path: Path) -> None:
    text = (DEFAULT_DATA_DIR / "empathy.toml").read_text(encoding="utf-8")
    text = text.replace("办结时限为{deadline}", "办结时限为{deadlin}", 1)
    with pytest.raises(DataError, match=r"empathy\.toml: step3\[\d+\]: unknown placeholder\(s\) deadlin"):
        EmpathyScripts.load(write(tmp_path, "empathy.toml", text))


def test_data_dir_override_falls_back_to_shipped_files(tmp_path: Path) -> None:
    write(tmp_path, "referrals.toml",
          '[[referral]]\nnumber = "12345"\nname = "市长热线"\nreason = "r"\nscript = "请拨打12345"\nwords = ["回访"]\n')
    analyzer = Analyzer.load(tmp_path, use_kb=False)
    assert [r.number for r in analyzer.analyze("caller", "回访电话打错了").referrals] == ["12345"]
    assert analyzer.analyze("agent", "我不知道").banned  # banned.toml came from the shipped data


def test_pattern_with_undefined_fragment_names_the_entry(tmp_path: Path) -> None:
    path = write(tmp_path, "referrals.toml",
                 '[define]\nKIN = "(?:孩子|老人)"\n[[referral]]\nnumber = "110"\nname = "报警"\nreason = "r"\n'
                 'script = "s"\npatterns = ["%KIN%不见了", "%PERSON%倒下"]\n')
    with pytest.raises(DataError, match=r"referral\[1\] \(110\): pattern uses %PERSON% but \[define\] has no PERSON"):
        ReferralTable.load(path)


def test_define_fragments_expand_and_may_build_on_each_other(tmp_path: Path) -> None:
    path = write(tmp_path, "referrals.toml",
                 "[define]\nKIN = '(?:孩子|老人)'\nWHO = '(?:%KIN%|邻居)'\n"
                 '[[referral]]\nnumber = "110"\nname = "报警"\nreason = "r"\nscript = "s"\n'
                 "patterns = ['%WHO%[^,]{0,6}不见了']\n")
    table = ReferralTable.load(path)
    assert [r.number for r in table.find("邻居家的老人不见了")] == ["110"]
    assert table.find("钥匙不见了") == []


def test_bad_define_name_is_reported(tmp_path: Path) -> None:
    path = write(tmp_path, "banned.toml",
                 "[define]\nwhen = '(明天)'\n[[rule]]\nid = \"x\"\ncategory = \"模糊承诺\"\nsuggestion = \"s\"\n"
                 "words = [\"应该\"]\n")
    with pytest.raises(DataError, match=r"banned\.toml: define: 'when': names are upper-case"):
        BannedList.load(path)


def test_unknown_intent_signal_is_rejected(tmp_path: Path) -> None:
    deps = shutil.copy(DEFAULT_DATA_DIR / "departments.toml", tmp_path / "departments.toml")
    intent = write(tmp_path, "intent.toml",
                   'priority = ["求助", "投诉举报", "一般诉求", "建议", "表扬", "咨询"]\n'
                   '[signals]\nfire = { category = "求助", weight = 1 }\n'
                   '[[cue]]\ncategory = "求助"\nweight = 1\nwords = ["救命"]\n')
    with pytest.raises(DataError, match=r"intent\.toml: signals: unknown signal 'fire'"):
        IntentModel.load(intent, Path(deps))


def test_unknown_timing_key_is_rejected(tmp_path: Path) -> None:
    path = write(tmp_path, "referrals.toml", "[timing]\npast = ['去年']\nbefore = ['x']\n")
    with pytest.raises(DataError, match=r"referrals\.toml: timing: unknown key\(s\) before"):
        ReferralTable.load(path)


def test_every_script_placeholder_gets_a_fitting_number() -> None:
    # every empathy script, filled for every kind of danger (its numbers in either order): a number in a
    # script is an urgent one or the support line, and is never described by another number's wording
    # (seen: 您也可以随时拨打110心理援助热线)
    analyzer = Analyzer.load(use_kb=False)
    table, scripts = analyzer.referrals, analyzer.empathy
    names = {n: info.name for n, info in table.rows.items()}
    fitting = {n for n, info in table.rows.items() if info.urgent} | {scripts.defaults["support"]}
    for kind, numbers in table.crisis_kinds.items():
        for offered in (numbers, tuple(reversed(numbers))):
            for emotion in ("愤怒", "焦虑", "失望", "绝望", "平静"):
                for critical in (True, False):
                    for text in scripts.scripts(emotion=emotion, intensity=0.9, intent="求助", department=None,
                                                critical=critical, referrals=offered, kind=kind):
                        said = [n for n in names if n in text]
                        assert set(said) <= fitting, (kind, text)
                        for number in said:
                            others = [name for n, name in names.items() if n != number and name != names[number]]
                            assert not any(f"{number}{name}" in text for name in others), (kind, text)
                        assert "{" not in text
    support = scripts.scripts(emotion="绝望", intensity=0.9, intent="求助", department=None, critical=True,
                              referrals=("110", "12356"))
    assert "12356心理援助热线" in support[2]
    assert table.emergency_numbers == {"110", "119", "120", "122", "12356"}
    assert "治安" not in (table.get("110", crisis=True) or table.rows["110"]).script


SCRIPT_KEYS = frozenset({"text", "script", "crisis_script", "suggestion", "crisis_suggestion", "expected"})
SCRIPT_TABLES = frozenset({"learned", "safety_questions"})  # tables whose every value is wording for the operator


def _scripts(node: object, key: str = "", table: str = "") -> list[str]:
    """Every string the product gives the operator to say, in one parsed data file."""
    if isinstance(node, dict):
        return [s for k, v in node.items() for s in _scripts(v, k, k if isinstance(v, dict) else table)]
    if isinstance(node, list):
        return [s for v in node for s in _scripts(v, key, table)]
    if isinstance(node, str) and (key in SCRIPT_KEYS or table in SCRIPT_TABLES):
        return [node]
    return []


class _Slots(dict[str, str]):
    """Fills a script's slots ({department}, {referral}…) with plausible words, any unknown one with 相关."""

    def __missing__(self, key: str) -> str:
        return "相关"


@pytest.mark.parametrize("name", ["empathy.toml", "referrals.toml", "crisis_kinds.toml", "crisis.toml", "banned.toml"])
def test_no_script_the_product_suggests_is_a_banned_phrase(name: str) -> None:
    # the fourth new-user trial: the anger crisis script said 请您先冷静一下, which the banned list flags
    # (情绪命令): an operator who read the card aloud got a warning, a supervisor alert and a report finding
    banned = BannedList.load(DEFAULT_DATA_DIR / "banned.toml")
    doc = tomllib.loads((DEFAULT_DATA_DIR / name).read_text(encoding="utf-8"))
    scripts = _scripts(doc)
    assert scripts, name
    fill = _Slots(department="住建", number="110", deadline="3至5个工作日", return_visit="3个工作日",
                  referral="110", referral_name="报警服务台")
    for script in scripts:
        text = script.format_map(fill) if "{" in script else script
        hits = banned.find(normalize(text).text)
        assert not hits, (name, script, [(h.rule, h.span.text) for h in hits])
