"""Gopher / C4 / FineWeb quality filters on real English, Chinese and Japanese documents."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pytest

from instructkit.pipeline import Pipeline
from instructkit.recipe import load_recipe
from instructkit.steps.quality import C4Quality, FineWebQuality, GopherQuality, GopherRepetition, tokenize

DATA = Path(__file__).parent / "data" / "quality"
REPO = Path(__file__).resolve().parent.parent
CASES = [json.loads(line) for line in (DATA / "cases.jsonl").open(encoding="utf-8")]
FILTERS = {cls.name: cls for cls in (GopherQuality, GopherRepetition, C4Quality, FineWebQuality)}


def reasons(step, *texts, **columns) -> list[str | None]:
    batch = pa.table({"text": list(texts), **columns})
    return step.check(step.annotate(batch))


FAQ = next(c["text"] for c in CASES if c["path"].endswith("debian/FAQ/ftparchives.en.html#8"))


def kept(lang: str) -> list[str]:
    return [c["text"] for c in CASES if c["expect"] == "keep" and c["lang"] == lang]


@pytest.mark.parametrize("case", [c for c in CASES if c["filter"] != "all"],
                         ids=lambda c: f"{c['lang']}-{c['expect']}")
def test_real_document_dropped_for_the_rule_that_fires(case):
    assert reasons(FILTERS[case["filter"]](), case["text"]) == [case["expect"]]


@pytest.mark.parametrize("lang", ["en", "zh-cn", "zh-tw", "ja"])
def test_clean_documents_pass_every_filter(lang):
    texts = kept(lang)
    assert texts
    for cls in FILTERS.values():
        assert reasons(cls(), *texts) == [None] * len(texts), cls.name


def test_chinese_is_counted_in_characters_not_spaces():
    paragraph = kept("zh-cn")[0].split("\n\n")[1]  # 迷你 Debian 系统是启动流程的第三阶段...
    assert len(paragraph.split()) < 5  # what spaces see: datatrove's Gopher drops it as gopher_short_doc
    assert reasons(GopherQuality(), paragraph) == [None]
    text = kept("zh-cn")[0]
    step = GopherQuality(mode="annotate")
    scores = step.annotate(pa.table({"text": [text]})).to_pylist()[0]
    assert scores["gopher_words"] > 5 * len(text.split())
    assert scores["gopher_mean_word_length"] is None  # the 3..10 letters rule does not apply to Han
    assert scores["gopher_stop_words"] >= 2  # 的 了 是 在 ... matched as characters


def test_tokens_split_like_spacy():
    assert tokenize("It's os.path.join(a, b) e-mail UTF-8 --global...") == [
        "It", "'s", "os.path.join(a", ",", "b", ")", "e", "-", "mail", "UTF-8", "--global", "..."]
    assert tokenize("我们使用 Debian。") == ["我", "们", "使", "用", "Debian", "。"]


def test_hash_heavy_config_file():
    text = (DATA / "sysctl.conf").read_text(encoding="utf-8")
    assert reasons(GopherQuality(), text) == ["gopher_too_many_hashes"]


def test_bullet_and_ellipsis_lines_built_from_real_sentences():
    lines = [line for line in FAQ.splitlines() if line.strip()]
    bullets = "\n".join(f"- {line}" for line in lines)
    assert reasons(GopherQuality(), bullets) == ["gopher_too_many_bullets"]
    cut = "\n".join(line.rstrip(".") + "..." if i % 2 else line for i, line in enumerate(lines))
    assert reasons(GopherQuality(), cut) == ["gopher_too_many_end_ellipsis"]


def test_lorem_ipsum_and_limits():
    text = FAQ
    lorem = text + "\nLorem ipsum dolor sit amet, consectetur adipiscing elit."
    assert reasons(C4Quality(), lorem) == ["c4_lorem_ipsum"]
    assert reasons(GopherQuality(max_doc_words=50), text) == ["gopher_long_doc"]
    assert reasons(C4Quality(bad_words=["distributable"]), text) == ["c4_bad_words"]
    assert reasons(FineWebQuality(), "", "  \n ") == ["fineweb_empty", "fineweb_empty"]
    assert reasons(GopherQuality(), None) == ["no_text"]
    assert reasons(GopherRepetition(), "") == ["gopher_empty"]


def test_disabled_rule_does_not_fire():
    fortune = next(c for c in CASES if c["expect"] == "gopher_short_doc")["text"]
    assert reasons(GopherQuality(min_doc_words=None), fortune) != ["gopher_short_doc"]


def test_stop_words_follow_the_language_column():
    german = ("Der Paketmanager installiert die Pakete und prüft, ob das System mit den "
              "Abhängigkeiten zu den anderen Paketen übereinstimmt. ") * 6
    step = GopherQuality()
    assert reasons(step, german) == ["gopher_few_stop_words"]  # judged as English without a language
    assert reasons(step, german, language=["de"]) == [None]
    assert reasons(GopherQuality(language_field=None), german, language=["de"]) == ["gopher_few_stop_words"]


def test_annotate_mode_scores_and_keeps_everything():
    texts = [c["text"] for c in CASES]
    for cls in FILTERS.values():
        step = cls(mode="annotate")
        batch = step.annotate(pa.table({"text": texts}))
        assert step.check(batch) == [None] * len(texts)
        scores = [c for c in batch.column_names if c != "text"]
        assert scores and all(c.startswith(("gopher_", "c4_", "fineweb_")) for c in scores)
        both = cls(mode="both")
        assert both.check(both.annotate(pa.table({"text": texts}))) == cls().check(pa.table({"text": texts}))


def test_thresholds_can_be_chosen_from_the_scores():
    texts = [c["text"] for c in CASES]
    batch = FineWebQuality(mode="annotate").annotate(pa.table({"text": texts}))
    ratios = batch.column("fineweb_line_punct_ratio").to_pylist()
    threshold = sorted(r for r in ratios if r is not None)[len(ratios) // 2]
    got = FineWebQuality(line_punct_thr=threshold).check(batch)
    assert [r == "fineweb_line_punct_ratio" for r in got] == [r is not None and r < threshold for r in ratios]


def test_bad_mode_is_a_recipe_error():
    with pytest.raises(ValueError, match="mode"):
        GopherQuality(mode="score")


def test_general_recipe_keeps_a_clean_chinese_paragraph(tmp_path):
    recipe = load_recipe(REPO / "recipes" / "general-corpus.yaml")
    texts = kept("zh-cn") + kept("en")
    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps({"id": f"d{i}", "text": t}, ensure_ascii=False) + "\n"
                           for i, t in enumerate(texts)), encoding="utf-8")
    result = Pipeline.from_recipe(recipe).run(input=str(src), output=tmp_path / "out", workers=1)
    assert result.rejected == 0 and result.kept == len(texts)


def test_c4_bad_words_from_the_shipped_ldnoobw_list(quickstart_records):
    import pyarrow as pa

    from instructkit.errors import RecipeError
    from instructkit.steps import C4Quality

    by_id = {r["id"]: r for r in quickstart_records}
    texts = [by_id["fortunes:knghtbrd#97"]["text"], by_id["fortunes:science#169"]["text"]]
    step = C4Quality.from_params({"bad_words": "en", "min_num_sentences": None, "filter_no_terminal_punct": False,
                                  "min_words_per_line": None})
    step.text_field = "text"
    assert step.check(pa.table({"text": texts})) == ["c4_bad_words", "c4_bad_words"]
    with pytest.raises(RecipeError, match="no shipped list for 'xx'"):
        C4Quality.from_params({"bad_words": "xx"})
