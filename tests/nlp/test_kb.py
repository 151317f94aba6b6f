"""Knowledge base: strict import, ranking sanity, threshold, the shipped KB, the thesaurus."""

from __future__ import annotations

import csv
import dataclasses
import json
import time
from pathlib import Path

import pytest

from assist.nlp.analyzer import Analyzer
from assist.nlp.kb import DEFAULT_KB, KbEntry, KbError, KnowledgeBase, RankerConfig, read_entries
from assist.nlp.kbindex import FEATURES
from assist.nlp.synonyms import DEFAULT_SYNONYMS, Thesaurus
from assist.nlp.tokenize import DictionaryError, Tokenizer
from bench.kb_calibrate import Outcome, choose, operating_curve

CANONICAL_DEPARTMENTS = {
    "住建", "城管", "市场监管", "人社", "公安", "交通", "卫健", "教育", "生态环境", "水务", "供电", "燃气",
    "供热", "民政", "医保", "自然资源", "农业农村", "文旅", "税务", "应急管理", "通信管理", "司法", "街道社区", "信访",
}
HEADER = "id,question,answer,department,keywords,source,updated\n"
PARAPHRASES = Path(__file__).resolve().parent.parent / "data" / "kb_paraphrases.jsonl"


@pytest.fixture(scope="module")
def tokenizer() -> Tokenizer:
    return Tokenizer()


@pytest.fixture(scope="module")
def shipped(tokenizer: Tokenizer) -> KnowledgeBase:
    return KnowledgeBase.load(DEFAULT_KB, tokenizer)


def _record(**overrides: object) -> dict[str, object]:
    base: dict[str, object] = {
        "id": "gjj",
        "question": "住房公积金怎么提取？",
        "answer": "携带身份证到公积金中心办理，具体以当地规定为准。",
        "department": "住建",
        "keywords": ["公积金", "提取"],
        "source": "《住房公积金管理条例》",
        "updated": "2026-11-01",
    }
    base.update(overrides)
    return base


def _jsonl(tmp_path: Path, *records: dict[str, object] | str) -> Path:
    path = tmp_path / "kb.jsonl"
    lines = [r if isinstance(r, str) else json.dumps(r, ensure_ascii=False) for r in records]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


# ----------------------------------------------------------------------------- loading


def test_jsonl_loads_and_keywords_accept_list_or_string(tmp_path: Path) -> None:
    path = _jsonl(tmp_path, _record(), "", _record(id="yb", keywords="医保|报销; 住院"))
    entries = read_entries(path)
    assert [e.id for e in entries] == ["gjj", "yb"]
    assert entries[0].keywords == ("公积金", "提取")
    assert entries[1].keywords == ("医保", "报销", "住院")
    assert entries[0].updated == "2026-11-01"


def test_csv_loads_with_quoted_multiline_answer(tmp_path: Path) -> None:
    path = tmp_path / "kb.csv"
    path.write_text(
        HEADER
        + 'a1,居住证怎么办理？,"到派出所申请，\n带身份证和居住证明。",公安,居住证;派出所,'
        + "《居住证暂行条例》,2026-10-01\n"
        + "a2,医保怎么报销？,定点医院直接结算。,医保,医保|报销,国家医保服务平台,2026-10-02\n",
        encoding="utf-8-sig",
    )
    entries = read_entries(path)
    assert [e.id for e in entries] == ["a1", "a2"]
    assert "\n" in entries[0].answer
    assert entries[0].keywords == ("居住证", "派出所")
    assert entries[1].keywords == ("医保", "报销")


def test_csv_error_line_numbers_count_physical_lines(tmp_path: Path) -> None:
    path = tmp_path / "kb.csv"
    path.write_text(
        HEADER
        + 'a1,问题一,"第一行\n第二行",公安,,来源,2026-10-01\n'
        + "a2,问题二,答案,公安,,来源,2026-13-01\n",
        encoding="utf-8",
    )
    with pytest.raises(KbError, match=r"kb\.csv:4: field 'updated' is not a valid date"):
        read_entries(path)


@pytest.mark.parametrize(
    ("record", "message"),
    [
        (_record(answer=""), r"kb\.jsonl:2: missing field 'answer'"),
        ({k: v for k, v in _record().items() if k != "source"}, r"kb\.jsonl:2: missing field 'source'"),
        (_record(updated="2026/11/01"), r"kb\.jsonl:2: field 'updated' must be an ISO date"),
        (_record(updated="2026-02-30"), r"kb\.jsonl:2: field 'updated' is not a valid date"),
        (_record(anwser="typo"), r"kb\.jsonl:2: unknown field\(s\) anwser"),
        (_record(question=42), r"kb\.jsonl:2: field 'question' must be a string"),
        (_record(keywords=[1, 2]), r"kb\.jsonl:2: field 'keywords' must be a list of strings"),
        ("[1, 2]", r"kb\.jsonl:2: expected a JSON object"),
        ('{"id": "x",', r"kb\.jsonl:2: invalid JSON"),
    ],
)
def test_jsonl_errors_name_the_line(tmp_path: Path, record: dict[str, object] | str, message: str) -> None:
    path = _jsonl(tmp_path, _record(id="first"), record)
    with pytest.raises(KbError, match=message):
        read_entries(path)


def test_duplicate_id_names_both_lines(tmp_path: Path) -> None:
    path = _jsonl(tmp_path, _record(), _record(id="other"), _record())
    with pytest.raises(KbError, match=r"kb\.jsonl:3: duplicate id 'gjj' \(first defined at .*kb\.jsonl:1\)"):
        read_entries(path)


def test_numeric_ids_are_accepted_as_strings(tmp_path: Path) -> None:
    assert read_entries(_jsonl(tmp_path, _record(id=1024)))[0].id == "1024"


def test_csv_header_and_row_errors(tmp_path: Path) -> None:
    path = tmp_path / "kb.csv"
    path.write_text("id,question,answer\n", encoding="utf-8")
    with pytest.raises(KbError, match=r"kb\.csv:1: header lacks column\(s\) department, source, updated"):
        read_entries(path)
    path.write_text(HEADER + "a1,问题,答案,公安\n", encoding="utf-8")
    with pytest.raises(KbError, match=r"kb\.csv:2: expected 7 columns, got 4"):
        read_entries(path)
    path.write_text(HEADER + ",问题,答案,公安,,来源,2026-10-01\n", encoding="utf-8")
    with pytest.raises(KbError, match=r"kb\.csv:2: missing field 'id'"):
        read_entries(path)


def test_file_level_errors(tmp_path: Path) -> None:
    with pytest.raises(KbError, match=r"unsupported knowledge-base format '\.txt'"):
        read_entries(tmp_path / "kb.txt")
    with pytest.raises(KbError, match="file not found"):
        read_entries(tmp_path / "missing.jsonl")
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n\n", encoding="utf-8")
    with pytest.raises(KbError, match="no entries"):
        read_entries(empty)
    latin = tmp_path / "latin.csv"
    latin.write_bytes(HEADER.encode() + "a,\xe9,b,c,,d,2026-01-01\n".encode("latin-1"))
    with pytest.raises(KbError, match="not UTF-8"):
        read_entries(latin)


def test_from_entries_rejects_duplicates(tokenizer: Tokenizer) -> None:
    entry = KbEntry("x", "问题", "答案", "公安", (), "来源", "2026-01-01")
    with pytest.raises(KbError, match="duplicate id 'x'"):
        KnowledgeBase.from_entries([entry, entry], tokenizer)


# ----------------------------------------------------------------------------- ranking


def test_paraphrase_finds_its_entry(shipped: KnowledgeBase) -> None:
    hits = shipped.search("我想把住房公积金提出来用，要啥手续")
    assert hits and hits[0].id == "gjj-withdraw"
    assert 0.0 < hits[0].score <= 1.0
    assert hits[0].department == "住建" and hits[0].source and hits[0].updated


def test_recognizer_style_text_finds_the_same_entry(shipped: KnowledgeBase) -> None:
    typed = shipped.search("身份证丢了，在外地能补办吗？")
    spoken = shipped.search("身份证 丢 了 在 外地 能 补办 吗")
    assert typed and spoken and typed[0].id == spoken[0].id == "idcard-reissue"


@pytest.mark.parametrize("text", ["今天天气怎么样", "你好，请问你吃饭了吗", "明天股票会涨吗", "", "，。？", "喂喂喂"])
def test_off_topic_gives_nothing(shipped: KnowledgeBase, text: str) -> None:
    assert shipped.search(text) == []


def test_hits_are_sorted_limited_and_above_threshold(shipped: KnowledgeBase) -> None:
    hits = shipped.search("公积金", limit=3, min_score=0.0)
    assert 1 <= len(hits) <= 3
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    assert all(h.id.startswith("gjj") for h in hits)
    assert shipped.search("公积金", limit=0) == []
    assert len(shipped.search("公积金", limit=1, min_score=0.0)) == 1


def test_threshold_is_configurable(shipped: KnowledgeBase, tokenizer: Tokenizer) -> None:
    text = "医保怎么报销"
    best = shipped.search(text, min_score=0.0)[0]
    assert shipped.search(text, min_score=best.score + 1e-6)[:1] != [best]
    strict = KnowledgeBase(shipped.entries, tokenizer, RankerConfig(threshold=1.0), shipped.thesaurus)
    assert strict.search(text) == []
    lenient = KnowledgeBase(shipped.entries, tokenizer, RankerConfig(threshold=0.0), shipped.thesaurus)
    assert lenient.search(text)[0].id == best.id


def test_scores_are_probabilities_for_every_entry(shipped: KnowledgeBase) -> None:
    scores = shipped.scores("驾驶证到期了怎么换")
    assert scores.shape == (len(shipped),)
    assert float(scores.min()) >= 0.0 and float(scores.max()) <= 1.0
    assert shipped.entries[int(scores.argmax())].id == "driver-license-renew"
    assert shipped.features("驾驶证到期了怎么换").shape[0] == len(shipped)


def test_keywords_outweigh_answer_text(tokenizer: Tokenizer) -> None:
    entries = [
        KbEntry("a", "怎么办理甲业务？", "请到窗口办理，可以顺便咨询犬只登记。", "公安", (), "来源", "2026-01-01"),
        KbEntry("b", "怎么办理乙业务？", "请到窗口办理。", "公安", ("犬只登记",), "来源", "2026-01-01"),
    ]
    kb = KnowledgeBase.from_entries(entries, tokenizer)
    scores = kb.scores("犬只登记")
    assert scores[1] > scores[0]


def test_verbatim_keyword_features(tokenizer: Tokenizer) -> None:
    entries = [
        KbEntry("dog", "养狗要登记吗？", "到派出所办理犬只登记。", "公安", ("狗证", "犬只登记"), "来源", "2026-01-01"),
        KbEntry("loan", "公积金贷款怎么申请？", "到中心申请。", "住建", ("贷款", "公积金贷款"), "来源", "2026-01-01"),
        KbEntry("car", "驾驶证到期怎么换？", "到车管所换证。", "公安", ("驾照", "换证"), "来源", "2026-01-01"),
    ]
    kb = KnowledgeBase.from_entries(entries, tokenizer)
    cover, idf = FEATURES.index("keyword_cover"), FEATURES.index("keyword_idf")
    # the only content word of the question is a keyword: fully covered, specific
    short = kb.features("办狗证要准备什么")
    assert short[0, cover] == pytest.approx(1.0) and short[0, idf] > 0.0
    assert short[1, cover] == short[2, cover] == 0.0 == short[1, idf]
    # one shared word in a question about something else covers only part of it
    other = kb.features("创业贷款怎么申请")
    assert 0.0 < other[1, cover] < 0.5
    assert kb.features("公积金贷款怎么申请")[1, cover] > other[1, cover]
    # keywords are synonym-folded like the caller's words: 驾驶本 meets the keyword 驾照
    assert kb.features("驾驶本换证")[2, cover] == pytest.approx(1.0)
    assert kb.features("今天天气怎么样")[:, cover].max() == 0.0


def test_short_question_with_one_specific_word_is_answered(shipped: KnowledgeBase) -> None:
    for text, expected in (("犬证到哪办", "dog-registration"), ("想问问个税", "tax-annual")):
        hits = shipped.search(text)
        assert hits and hits[0].id == expected, text


def test_synonyms_bridge_caller_words(shipped: KnowledgeBase) -> None:
    hits = shipped.search("驾照快过期了去哪换")
    assert hits and hits[0].id == "driver-license-renew"


def test_empty_knowledge_base_returns_nothing(tokenizer: Tokenizer) -> None:
    kb = KnowledgeBase.from_entries([], tokenizer)
    assert len(kb) == 0 and kb.search("医保怎么报销") == []


def test_centre_csv_kb_is_searchable(tmp_path: Path, tokenizer: Tokenizer) -> None:
    """A centre's own CSV (here: the shipped entries plus two local ones) is imported and searched."""
    path = tmp_path / "centre.csv"
    rows = [
        [e.id, e.question, e.answer, e.department, "|".join(e.keywords), e.source, e.updated]
        for e in read_entries(DEFAULT_KB)
    ]
    rows.append(["c1", "电动自行车怎么上牌？", "带购车发票和合格证到交警上牌点办理。", "公安", "电动车|上牌|电瓶车",
                 "本市交警", "2026-09-01"])
    rows.append(["c2", "图书馆几点开门？", "市图书馆周二至周日9点开馆。", "文旅", "图书馆;开馆时间", "市图书馆",
                 "2026-09-01"])
    with path.open("w", encoding="utf-8", newline="") as f:
        f.write(HEADER)
        csv.writer(f).writerows(rows)
    kb = KnowledgeBase.load(path, tokenizer)
    assert len(kb) == len(rows)
    assert kb.search("电瓶车要去哪里上牌照")[0].id == "c1"
    assert kb.search("市图书馆 几 点 开门")[0].id == "c2"
    assert kb.search("今天天气怎么样") == []


def test_tiny_kb_still_ranks(tokenizer: Tokenizer) -> None:
    entries = [
        KbEntry("c1", "电动自行车怎么上牌？", "到交警上牌点办理。", "公安", ("电动车", "上牌"), "交警", "2026-09-01"),
        KbEntry("c2", "图书馆几点开门？", "周二至周日9点开馆。", "文旅", ("图书馆",), "图书馆", "2026-09-01"),
    ]
    kb = KnowledgeBase.from_entries(entries, tokenizer)
    assert kb.search("图书馆几点开门")[0].id == "c2"
    assert kb.search("电动车上牌", min_score=0.0)[0].id == "c1"


def test_ranker_config_is_validated() -> None:
    with pytest.raises(ValueError, match="threshold"):
        RankerConfig(threshold=1.5)
    with pytest.raises(ValueError, match="calibration"):
        RankerConfig(calibration=(1.0, 2.0))
    with pytest.raises(ValueError, match="word_share"):
        RankerConfig(word_share=0.9, char_share=0.3)


def test_analyzer_shares_the_tokenizer(tokenizer: Tokenizer) -> None:
    analyzer = Analyzer.load(tokenizer=tokenizer)
    assert analyzer.kb is not None and analyzer.kb.tokenizer is tokenizer


# ----------------------------------------------------------------------------- calibration


def test_operating_point_is_best_top1_within_the_false_positive_budget() -> None:
    answerable = [Outcome(0.9, True, True), Outcome(0.6, True, True), Outcome(0.3, True, True),
                  Outcome(0.25, True, True), Outcome(0.15, False, True)]  # 0.15: the wrong entry first
    unanswerable = [Outcome(score, False, False) for score in (0.5, 0.2, 0.1, 0.05)]
    points = {p.threshold: p for p in operating_curve(answerable + unanswerable, thresholds=(0.1, 0.2, 0.3, 0.6))}
    assert (points[0.1].top1, points[0.1].false_positive, points[0.1].wrong) == (0.8, 0.75, 0.2)
    assert (points[0.3].top1, points[0.3].false_positive, points[0.3].wrong) == (0.6, 0.25, 0.0)
    # cost per question: 2 per wrong answer or false positive, 1 per missing answer
    assert points[0.1].cost == pytest.approx(2 * 4 / 9) and points[0.6].cost == pytest.approx(3 / 9)
    curve = list(points.values())
    assert choose(curve, max_fp=0.25).threshold == 0.3
    assert choose(curve, max_fp=0.5).threshold == 0.2
    assert choose(curve, max_fp=1.0).threshold == 0.2  # same top-1 as 0.1: the higher threshold wins
    assert choose(curve, max_fp=0.0).threshold == 0.6


# ----------------------------------------------------------------------------- shipped data


def test_shipped_kb_is_valid_and_complete() -> None:
    entries = read_entries(DEFAULT_KB)
    assert len(entries) >= 40
    for e in entries:
        assert e.source.strip() and e.updated, e.id
        assert e.department in CANONICAL_DEPARTMENTS, (e.id, e.department)
        assert e.keywords, e.id


def test_paraphrase_file_covers_every_entry_twice_and_has_negatives() -> None:
    ids = {e.id for e in read_entries(DEFAULT_KB)}
    rows = [json.loads(line) for line in PARAPHRASES.read_text(encoding="utf-8").splitlines() if line.strip()]
    per_id: dict[str, int] = {}
    for row in rows:
        assert set(row) == {"text", "kb_id", "split"} and row["split"] in {"dev", "test", "holdout"}
        if row["kb_id"] is not None:
            assert row["kb_id"] in ids
            per_id[row["kb_id"]] = per_id.get(row["kb_id"], 0) + 1
    assert set(per_id) == ids and min(per_id.values()) >= 2
    assert sum(1 for r in rows if r["kb_id"] is None and r["split"] == "test") >= 20
    texts = [r["text"] for r in rows]
    questions = {e.question for e in read_entries(DEFAULT_KB)}
    assert len(set(texts)) == len(texts) and not questions & set(texts)


def test_search_is_fast_enough_to_run_per_utterance(shipped: KnowledgeBase) -> None:
    # a sanity bound only (the figure is measured by bench.kb_eval): far above the ~0.3 ms median
    start = time.perf_counter()
    for _ in range(20):
        shipped.search("我想把住房公积金提出来用")
    assert (time.perf_counter() - start) / 20 < 0.05


# ----------------------------------------------------------------------------- thesaurus


def test_thesaurus_loads_and_folds(tokenizer: Tokenizer) -> None:
    th = Thesaurus.load(DEFAULT_SYNONYMS, tokenizer)
    assert th.canonical("驾照") == "驾驶证"
    assert th.canonical("医保") == "医保" and th.canonical("不在表里") == "不在表里"
    assert th.fold(["验车", "年审"]) == ["年检", "年检"]
    assert len(th) > 50


def test_thesaurus_errors_name_the_line(tmp_path: Path, tokenizer: Tokenizer) -> None:
    path = tmp_path / "syn.txt"
    path.write_text("# c\n驾驶证 驾照\n年检 驾照\n", encoding="utf-8")
    with pytest.raises(DictionaryError, match=r"syn\.txt:3: '驾照' is already in the group on line 2"):
        Thesaurus.load(path)
    path.write_text("孤零零\n", encoding="utf-8")
    with pytest.raises(DictionaryError, match=r"syn\.txt:1: a group needs at least two words"):
        Thesaurus.load(path)
    path.write_text("驾驶证 我的驾照本子\n", encoding="utf-8")
    with pytest.raises(DictionaryError, match=r"syn\.txt:1: '我的驾照本子' is segmented as"):
        Thesaurus.load(path, tokenizer)


def test_kb_entry_is_frozen() -> None:
    entry = KbEntry("x", "q", "a", "公安", (), "s", "2026-01-01")
    with pytest.raises(dataclasses.FrozenInstanceError):
        entry.id = "y"  # type: ignore[misc]
