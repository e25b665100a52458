"""Bias audit and counterfactual augmentation on real English and Chinese text (the shipped quickstart
sample: Debian fortunes and documentation)."""

from __future__ import annotations

import json
import re

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import run_cli, write_jsonl, write_recipe

from instructkit.reports import load_reports
from instructkit.reports.bias import bias_audit, mentions, words
from instructkit.steps.bias import CounterfactualGender, Stereotypes, swap_chinese, swap_english

FEMALE = re.compile(r"\b(she|her|woman|women|wife|mother|girl|girls|daughter|lady)\b", re.I)


def write_run(root, kept: list[dict], rejected: list[dict]) -> None:
    (root / "data").mkdir(parents=True)
    (root / "rejected").mkdir()
    pq.write_table(pa.Table.from_pylist(kept), root / "data" / "part-00000.parquet")
    if rejected:
        pq.write_table(pa.Table.from_pylist(rejected), root / "rejected" / "part-00000.parquet")


@pytest.fixture(scope="module")
def fortunes(quickstart_records) -> list[dict]:
    en = [r for r in quickstart_records if r["lang"] == "en" and r["id"].startswith("fortunes:")][:600]
    zh = [r for r in quickstart_records if r["lang"] == "zh"][:200]
    return [{"id": r["id"], "text": r["text"], "language": r["lang"][:2]} for r in en + zh]


def test_lexicon_matches_whole_words():
    found, described = mentions(words("Her mother is smart; the blacksmith's son is kind.", "en"), "en")
    assert found[("gender", "female")] == 2 and found[("gender", "male")] == 1
    assert described == {"smart", "kind"}
    found, _ = mentions(words("其他作者的主旨对他们是好事，她的女儿很聪明", "zh"), "zh")
    assert found[("gender", "male")] == 1 and found[("gender", "female")] == 2  # 其他 is "other", not "he"


def test_audit_finds_a_planted_skew_against_women(tmp_path, fortunes):
    # A filter that drops half the fortunes mentioning women (and one in twenty of the rest).
    kept, rejected = [], []
    n_female = 0
    for i, r in enumerate(fortunes):
        female = r["language"] == "en" and FEMALE.search(r["text"])
        n_female += bool(female)
        if (female and n_female % 2 == 0) or (not female and i % 20 == 0):
            rejected.append(r | {"drop_step": "quality_filter", "drop_reason": "planted"})
        else:
            kept.append(r)
    write_run(tmp_path, kept, rejected)
    result = bias_audit(tmp_path, {})

    flagged = {(f["step"], f["slice"]) for f in result["flags"]}
    assert ("quality_filter", "gender.female") in flagged
    assert ("quality_filter", "gender.male") not in flagged
    assert ("quality_filter", "language=zh") not in flagged
    row = next(d for d in result["drop_rates"] if d["slice"] == "gender.female")
    assert row["rate"] >= 0.3 and row["ratio"] >= 2  # the lexicon finds more women than the regex
    terms = result["terms"]["en"]["groups"]["gender.female"]
    assert terms["records"] < terms["records_before_filtering"]
    assert "gender.male" in result["terms"]["zh"]["groups"]
    assert "| quality_filter | gender.female |" in result["markdown"]
    json.dumps(result)  # lands in stats.json


def test_no_flags_when_drops_are_even(tmp_path, fortunes):
    kept = [r for i, r in enumerate(fortunes) if i % 10]
    rejected = [r | {"drop_step": "even", "drop_reason": "x"} for i, r in enumerate(fortunes) if not i % 10]
    write_run(tmp_path, kept, rejected)
    result = bias_audit(tmp_path, {}, flag_ratio=3.0)
    assert result["flags"] == []
    assert "No language or group lost 3x" in result["markdown"]


def test_cooccurrence_ranks_descriptors_by_pmi(tmp_path, fortunes):
    write_run(tmp_path, fortunes, [])
    result = bias_audit(tmp_path, {}, min_count=2)
    rows = result["cooccurrence"]["en"]["gender.male"]
    assert rows and all(r["records"] >= 2 for r in rows)
    assert [r["pmi"] for r in rows] == sorted((r["pmi"] for r in rows), reverse=True)


def test_report_is_registered():
    assert "bias_audit" in load_reports()


def test_curate_puts_the_audit_in_stats_and_card(tmp_path, fortunes):
    source = write_jsonl(tmp_path / "in.jsonl", [{"id": r["id"], "text": r["text"]} for r in fortunes[:150] + fortunes[-60:]])
    recipe = write_recipe(tmp_path / "r.yaml", f"""
name: bias-check
input: {{path: {source}, text_field: text}}
steps:
  - language_id: {{keep: [en]}}
reports:
  - bias_audit: {{min_count: 5}}
output: {{path: {tmp_path / 'out'}}}
""")
    run_cli("curate", str(recipe), check=True)
    stats = json.loads((tmp_path / "out" / "stats.json").read_text())
    audit = stats["reports"]["bias_audit"]
    assert ("language_id", "language=zh") in {(f["step"], f["slice"]) for f in audit["flags"]}
    card = (tmp_path / "out" / "README.md").read_text()
    assert "Bias audit" in card and "language=zh" in card


def test_swaps_real_english_fortunes(english):
    text = next(r["text"] for r in english if r["id"] == "fortunes:food#7")
    swapped = swap_english(text)
    assert "A husband started serving" in swapped and "his\nwife snarled" in swapped
    assert swap_english("She been married so many times she got rice marks all over her face.") == (
        "He been married so many times he got rice marks all over his face."
    )
    assert swap_english("the ignominy of him that brought her birth") == "the ignominy of her that brought his birth"


def test_swaps_real_chinese_and_keeps_other(chinese):
    text = next(r["text"] for r in chinese if r["id"] == "fortunes-zh:chinese#642")
    swapped = swap_chinese(text)
    assert "其他作者" in swapped and "对她们" in swapped
    assert swap_chinese("莫笑他人老，终须还到老。") == "莫笑他人老，终须还到老。"


def test_counterfactual_step_adds_marked_copies(english, chinese):
    picked = [r for r in english if r["id"] in ("fortunes:food#7", "fortunes:wisdom#4")]
    picked += [r for r in chinese if r["id"] == "fortunes-zh:chinese#642"]
    picked += [next(r for r in english if not FEMALE.search(r["text"]) and not re.search(r"\b(he|his|him|man)\b", r["text"], re.I))]
    batch = pa.Table.from_pylist([{"id": r["id"], "text": r["text"]} for r in picked])
    out = CounterfactualGender().apply(batch)
    assert out.num_rows == 7
    assert out.column("counterfactual").to_pylist() == [False, True, False, True, False, True, False]
    assert out.column("id").to_pylist()[:2] == ["fortunes:food#7", "fortunes:food#7"]
    replaced = CounterfactualGender(mode="replace").apply(batch)
    assert replaced.num_rows == 4 and replaced.column("counterfactual").to_pylist() == [True, True, True, False]


def test_stereotypes_filter_on_the_quickstart_sample(quickstart_records):
    batch = pa.Table.from_pylist([{"id": r["id"], "text": r["text"]} for r in quickstart_records])
    reasons = Stereotypes().check(batch)
    dropped = {r["id"]: reason for r, reason in zip(quickstart_records, reasons, strict=True) if reason}
    # "The anger of a woman is the greatest evil ..." (Bonnard): the one stereotype among 4,694 records;
    # "The women are strong, The men are good-looking" and "Children are natural mimics" stay.
    assert dropped == {"fortunes:men-women#415": "stereotype:gender.female"}


def test_stereotypes_in_chinese_and_group_choice():
    step = Stereotypes(groups=["religion"])
    assert Stereotypes().find("女人都很笨。") == "gender.female"
    assert step.find("女人都很笨。") is None and step.find("他们都很懒") is None
    assert Stereotypes().find("He is lazy, she is tired.") is None  # pronouns are people, not groups
    with pytest.raises(ValueError, match="unknown group"):
        Stereotypes(groups=["gendre"])


def test_audit_shows_the_real_toxicity_filter_removes_more_records_about_women(tmp_path, quickstart_records):
    from instructkit.steps.toxicity import Toxicity

    batch = pa.Table.from_pylist([{"id": r["id"], "text": r["text"], "language": r["lang"][:2]} for r in quickstart_records])
    step = Toxicity()
    batch = step.annotate(batch)
    reasons = step.check(batch)
    rows = batch.to_pylist()
    kept = [r for r, why in zip(rows, reasons, strict=True) if why is None]
    rejected = [r | {"drop_step": "toxicity", "drop_reason": why} for r, why in zip(rows, reasons, strict=True) if why]
    write_run(tmp_path, kept, rejected)
    result = bias_audit(tmp_path, {})
    female = next(d for d in result["drop_rates"] if d["slice"] == "gender.female")
    # e.g. Milton's "... like a bastard, to the ignominy of him that brought her birth" (fortunes)
    assert female["flag"] and female["ratio"] >= 2, female
    assert not next(d for d in result["drop_rates"] if d["slice"] == "gender.male")["flag"]
    assert "| toxicity | gender.female |" in result["markdown"]


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_lexicons_cover_the_groups(lang):
    from instructkit.reports.bias import load_lexicon

    lex = load_lexicon(lang)
    assert {"gender", "age", "nationality_ethnicity", "religion", "disability", "sexual_orientation"} <= set(lex["groups"])
    assert {"female", "male"} == set(lex["groups"]["gender"])
    assert len(lex["descriptors"]) >= 80 and lex["negative"]
