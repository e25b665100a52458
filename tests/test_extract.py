"""extract_instructions on real FAQ documents (Debian FAQ, Python FAQ, fortune riddles)."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import pyarrow as pa
import pytest

from instructkit.errors import RecipeError
from instructkit.steps.extract import ExtractInstructions

DATA = Path(__file__).parent / "data" / "instructions"


@pytest.fixture(scope="module")
def docs() -> dict[str, dict]:
    with open(DATA / "faq_docs.jsonl", encoding="utf-8") as fh:
        return {r["id"]: r for r in map(json.loads, fh)}


def pairs(doc: dict, **params) -> list[tuple[str, str, str]]:
    return ExtractInstructions.from_params(params).extract(doc["text"])


def test_debian_faq_sections_by_numbered_question_headings(docs):
    found = pairs(docs["basic-defs.en.html"])
    assert [q for _, q, _ in found] == [
        "What is this FAQ?",
        "What is Debian GNU/Linux?",
        "OK, now I know what Debian is... what is Linux?!",
        "Does Debian just do GNU/Linux?",
        "What is the difference between Debian GNU/Linux and other Linux distributions? Why should I choose "
        "Debian over some other distribution?",
        "How does the Debian project fit in or compare with the Free Software Foundation's GNU project?",
        "How does one pronounce Debian and what does this word mean?",
    ]
    assert {rule for rule, _, _ in found} == {"headings"}
    answer = dict((q, a) for _, q, a in found)["What is Debian GNU/Linux?"]
    assert answer.startswith("Debian GNU/Linux is a particular distribution of the Linux\noperating system")
    assert answer.endswith("for more information.")  # the section ends where 1.3 begins
    assert "1.3." not in answer and "Table of Contents" not in answer


def test_chinese_debian_faq_headings_and_definitions(docs):
    found = pairs(docs["basic-defs.zh-cn.html"])
    questions = [q for rule, q, _ in found if rule == "headings"]
    assert questions[:2] == ["本 FAQ 文档是什么？", "什么是 Debian GNU/Linux？"]
    assert len(questions) == 7
    definitions = {q: a for rule, q, a in found if rule == "definitions"}
    assert definitions == {
        "什么是Debian GNU/Linux？": "Debian GNU/Linux 是 Linux 操作系统的一个发行版，以及其上运行的无数软件包。",
        "什么是Hurd？": "Hurd 是运行 GNU Mach 微内核的一组服务器。",
    }


def test_python_faq_pilcrow_headings_skip_the_table_of_contents(docs):
    found = pairs(docs["general.html"], rules=["headings"])
    questions = [q for _, q, _ in found]
    assert questions[0] == "What is Python?" and "Why is it called Python?" in questions
    assert len(questions) == len(set(questions)) == 23
    answers = dict((q, a) for _, q, a in found)
    assert answers["Do I have to like “Monty Python’s Flying Circus”?"] == "No, but it helps. :)"
    last = answers["Is Python a good language for beginning programmers?"]
    assert last.startswith("Yes.") and last.endswith("joining the edu-sig mailing list.")  # footer cut off


def test_q_a_layouts(docs):
    found = pairs(docs["decimal-faq"])
    assert [r for r, _, _ in found] == ["qa"] * 6
    q, a = found[0][1:]
    assert q == ("It is cumbersome to type decimal.Decimal('1234.5'). Is there a way to minimize typing when "
                 "using the interactive interpreter?")
    assert a.startswith("Some users abbreviate the constructor to just a single letter:\n\n>>> D = decimal.Decimal")
    riddle = pairs(docs["riddles-14"])
    assert [(q, a) for _, q, a in riddle] == [("How do you catch a unique rabbit?", "Unique up on it!"),
                                              ("How do you catch a tame rabbit?", "The tame way!")]
    wrapped = pairs(docs["riddles-9"])
    assert wrapped[0][1] == '"What is the burning question on the mind of every dyslexic existentialist?"'


def test_numbered_procedures():
    # Sentences from the Debian FAQ (pkgtools chapter), laid out as numbered steps.
    text = ("To install the foo package and all its dependencies, run:\n\n1. apt update\n2. apt install foo\n\n"
            "modification, are permitted provided that the following conditions\nare met:\n"
            "1. Redistributions of source code must retain the above copyright notice.\n"
            "2. Redistributions in binary form must reproduce the above copyright notice.\n\n"
            "要安装 foo 软件包及其依赖：\n1、运行 apt update\n2、运行 apt install foo")
    assert ExtractInstructions(rules=["procedures"]).extract(text) == [
        ("procedures", "How do I install the foo package and all its dependencies?", "1. apt update\n2. apt install foo"),
        ("procedures", "如何安装 foo 软件包及其依赖？", "1、运行 apt update\n2、运行 apt install foo"),
    ]


def test_one_document_becomes_many_records(docs):
    table = pa.Table.from_pylist([docs["riddles-14"], docs["basic-defs.en.html"], {**docs["riddles-10"], "text": None}])
    step = pickle.loads(pickle.dumps(ExtractInstructions()))
    assert step.expands
    out = step.apply(table)
    assert out.num_rows == 2 + 7
    assert set(table.column_names) <= set(out.column_names)
    assert out.column("id").to_pylist()[:3] == ["riddles-14-1", "riddles-14-2", "basic-defs.en.html-1"]
    assert out.column("source_id").to_pylist()[0] == "riddles-14"
    assert out.column("messages").to_pylist()[0] == [
        {"role": "user", "content": "How do you catch a unique rabbit?"},
        {"role": "assistant", "content": "Unique up on it!"}]
    assert step.drain_metrics() == {"pairs_qa": 2, "pairs_headings": 7}
    empty = step.apply(table.slice(2))
    assert empty.num_rows == 0 and set(table.column_names) <= set(empty.column_names)


@pytest.mark.slow
def test_optional_generation_with_a_local_model(docs, tmp_path):
    """Plumbing of self-instruct generation with a tiny, untrained local model (its questions are noise)."""
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    from instructkit import samples

    tok = transformers.AutoTokenizer.from_pretrained(Path(samples.__file__).parent / "instructions" / "tokenizer")
    torch.manual_seed(0)
    config = transformers.GPT2Config(vocab_size=len(tok), n_positions=256, n_embd=16, n_layer=1, n_head=2,
                                     eos_token_id=tok.eos_token_id, bos_token_id=tok.eos_token_id)
    transformers.GPT2LMHeadModel(config).save_pretrained(tmp_path)
    tok.save_pretrained(tmp_path)
    step = ExtractInstructions(rules=["qa"], generate=True, model=str(tmp_path), max_new_tokens=4,
                               max_response_chars=400)
    text = docs["basic-defs.en.html"]["text"][:2000]
    found = step.extract(text)
    assert found and {rule for rule, _, _ in found} == {"generated"}
    assert all(passage in text.replace("\xa0", " ") and len(passage.split()) >= 20 for _, _, passage in found)
    assert step.drain_metrics()["pairs_generated"] >= len(found)
    again = pickle.loads(pickle.dumps(step)).extract(text)
    assert again == found  # greedy decoding: the same questions every run
    with pytest.raises(RecipeError, match="generate: true needs model"):
        ExtractInstructions.from_params({"generate": True})


def test_the_faq_sample():
    import gzip
    from collections import Counter

    from instructkit import samples

    path = Path(samples.__file__).parent / "instructions" / "faq-docs.jsonl.gz"
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        docs = [json.loads(line) for line in fh]
    step = ExtractInstructions()
    found = Counter((d["lang"], rule) for d in docs for rule, _, _ in step.extract(d["text"]))
    assert found == {("en", "headings"): 302, ("zh-cn", "headings"): 121, ("en", "definitions"): 7,
                     ("zh-cn", "definitions"): 9}
