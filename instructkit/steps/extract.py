"""Rule-based extraction of instruction/response pairs from raw documents, without an LLM."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Literal

import pyarrow as pa

from instructkit.steps.base import Mapper, set_column
from instructkit.steps.templates import MESSAGES
from instructkit.text import normalize_for_hash, tokens

Rule = Literal["qa", "headings", "procedures", "definitions"]
RULES: tuple[Rule, ...] = ("qa", "headings", "procedures", "definitions")

_Q = re.compile(r"^(?:Q|Question|问|问题)\s*[:.：]\s*(.*)$")
_A = re.compile(r"^(?:A|Answer|答|回答|答案)\s*[:.：]\s*(.*)$")
_NUMBERED = re.compile(r"^(?:\d+\.)+\d*\s+(\S.*)$")
_CHAPTER = re.compile(r"^(?:Chapter|Appendix|Section)\s+\w+\.?\s|^第\s*\d+\s*[章节]")
_QUESTION_WORDS = re.compile(
    r"^(?:how|what|why|when|where|which|who|whom|whose|can|could|is|are|do|does|did|should|will|would|may|"
    r"must|has|have)\b|^(?:如何|怎么|怎样|为什么|为何|什么|哪|谁|是否|能否|可以)", re.I)
_END_OF_CONTENT = {"table of contents", "contents", "navigation", "previous topic", "next topic", "目录"}
_STEP = re.compile(r"^(\d+)(?:[.)]\s+|[、．]\s*)(\S.*)$")
_EN_DEF = re.compile(
    r"^(?P<term>[A-Z][\w./+#-]*(?:\s+[A-Z0-9][\w./+#-]*){0,4})\s+(?P<verb>is|are)\s+(?:a|an|the)\s+[^.!?]{8,300}\.(?=\s|$)")
# Chinese: "X 是指/是一种/是一个 ..." for any short term; plain "X 是 ..." only for a Latin-script name.
_ZH_DEF = re.compile(r"^(?:(?P<term>[\w\u4e00-\u9fff]{1,12}?)\s*(?:是指|是一种|是一个|是一款|是一类)|"
                     r"(?P<name>[A-Za-z][A-Za-z0-9 ./+#-]{0,30}?)\s*是)[^。！？]{4,200}。")
_NOT_TERMS = {"it", "this", "that", "there", "these", "those", "he", "she", "they", "we", "you", "i", "here",
              "what", "which", "one", "each", "all", "some", "such", "the", "a", "an", "no", "yes", "note", "see"}


def _standalone_lines(lines: list[str]) -> list[int]:
    """Indices of non-empty lines with an empty line (or the document edge) before and after."""
    out = []
    for i, line in enumerate(lines):
        if line and (i == 0 or not lines[i - 1]) and (i + 1 == len(lines) or not lines[i + 1]):
            out.append(i)
    return out


def _is_question(text: str) -> bool:
    return "?" in text[-3:] or "？" in text[-3:] or bool(_QUESTION_WORDS.match(text)) or text.lower().startswith("how to ")


def _as_question(text: str) -> str:
    return text if "?" in text[-3:] or "？" in text[-3:] or text.lower().startswith("how to ") else text + (
        "？" if re.search(r"[\u4e00-\u9fff]", text) else "?")


def _paragraphs(lines: list[str]) -> str:
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


class ExtractInstructions(Mapper):
    """Mine instruction/response pairs from raw text: one document becomes zero or more records.

    Rules (``rules``, all by default, run in this order; a later pair whose instruction repeats an
    earlier one of the same document is skipped):

    * ``qa``: FAQ layouts ``Q:``/``A:``, ``Q.``/``A.``, ``Question:``/``Answer:``, ``问：``/``答：``;
    * ``headings``: a question or "How to ..." heading and its section. Headings are lines standing
      alone between blank lines; a document whose headings end with a pilcrow (Sphinx) or carry section
      numbers (``1.2.``) uses only those, so a table of contents is not mistaken for sections;
    * ``procedures``: a lead-in ending with a colon ("To install foo:") and the numbered steps after it;
    * ``definitions``: the first sentence of a paragraph that defines a term ("Debian GNU/Linux is a
      ...", "X 是一种 ...") gives "What is X?".

    Responses shorter than ``min_response_chars`` or longer than ``max_response_chars`` are skipped.
    Each output record keeps the document's fields and adds ``messages``, ``extraction`` (the rule) and
    ``source_id``; its ``id`` is ``<source id>-<n>``. Optional LLM generation (``generate: true``) asks a
    local ``transformers`` causal LM (``model``: its directory) for one question per paragraph of 20
    tokens or more, greedily (deterministic), and pairs it with the paragraph (self-instruct style); it
    is off by default and needs the transformers extra.

    ```yaml
    - extract_instructions: {rules: [qa, headings, procedures, definitions], min_response_chars: 2}
    ```
    """

    name = "extract_instructions"
    expands = True
    _unpicklable = ("_generator",)

    def __init__(
        self,
        *,
        field: str | None = None,
        rules: list[Rule] | None = None,
        min_response_chars: int = 2,
        max_response_chars: int = 6000,
        generate: bool = False,
        model: str | None = None,
        max_new_tokens: int = 48,
    ) -> None:
        if generate and not model:
            raise ValueError("generate: true needs model: the path of a local transformers model")
        if min_response_chars < 1 or max_response_chars < min_response_chars:
            raise ValueError("need 1 <= min_response_chars <= max_response_chars")
        self.field = field
        self.rules = rules
        self.min_response_chars = min_response_chars
        self.max_response_chars = max_response_chars
        self.generate = generate
        self.model = model
        self.max_new_tokens = max_new_tokens

    def requires(self) -> dict[str, str]:
        return {"transformers": "train"} if self.generate else {}

    # -- rules ---------------------------------------------------------------------------------------
    def extract(self, text: str) -> list[tuple[str, str, str]]:
        """``(rule, instruction, response)`` pairs found in one document."""
        lines = [line.replace("\xa0", " ").rstrip() for line in text.replace("\r\n", "\n").split("\n")]
        seen: set[str] = set()
        out = []
        for rule in self.rules or RULES:
            for instruction, response in getattr(self, f"_{rule}")(lines):
                instruction, response = instruction.strip(), response.strip()
                key = normalize_for_hash(instruction)
                if not key or key in seen:
                    continue
                if not self.min_response_chars <= len(response) <= self.max_response_chars:
                    self.count("pairs_skipped_length")
                    continue
                seen.add(key)
                out.append((rule, instruction, response))
        if self.generate:
            for question, passage in self._generated(lines):
                key = normalize_for_hash(question)
                if key and key not in seen:
                    seen.add(key)
                    out.append(("generated", question, passage))
        return out

    def _qa(self, lines: list[str]) -> Iterator[tuple[str, str]]:
        question: list[str] | None = None
        answer: list[str] | None = None
        for raw in [*lines, ""]:
            line = raw.strip()
            q, a = _Q.match(line), _A.match(line)
            if q or (answer is not None and (line.lower() in _END_OF_CONTENT)):
                if question and answer is not None:
                    yield " ".join(question), _paragraphs(answer)
                question, answer = ([q.group(1)] if q else None), None
            elif a and question is not None and answer is None:
                answer = [a.group(1)]
            elif answer is not None:
                if raw[:1].isspace() and answer and answer[-1]:
                    answer[-1] += " " + line  # an indented continuation line
                else:
                    answer.append(line)
            elif question is not None:
                question.append(line) if line else None
        if question and answer is not None:
            yield " ".join(question), _paragraphs(answer)

    def _headings(self, lines: list[str]) -> Iterator[tuple[str, str]]:
        alone = _standalone_lines(lines)
        pilcrow = [i for i in alone if lines[i].endswith("¶")]
        numbered = [i for i in alone if _NUMBERED.match(lines[i].strip()) or _CHAPTER.match(lines[i].strip())]
        plain = [i for i in alone if len(lines[i]) <= 200 and _is_question(lines[i].strip())
                 and not _Q.match(lines[i].strip())]
        heads = pilcrow if len(pilcrow) >= 2 else numbered if len(numbered) >= 2 else plain
        ends = set(heads) | {i for i in alone if lines[i].strip().lower() in _END_OF_CONTENT}
        for i in heads:
            title = lines[i].strip().rstrip("¶").strip()
            m = _NUMBERED.match(title)
            title = m.group(1) if m else title
            if len(title) > 200 or not _is_question(title):
                continue
            j = i + 1
            while j < len(lines) and j not in ends:
                j += 1
            body = _paragraphs(lines[i + 1:j])
            if body:
                yield _as_question(title), body

    def _procedures(self, lines: list[str]) -> Iterator[tuple[str, str]]:
        i = 0
        while i < len(lines):
            m = _STEP.match(lines[i].strip())
            if not (m and m.group(1) == "1"):
                i += 1
                continue
            steps, j = [lines[i].strip()], i + 1
            while j < len(lines):
                line = lines[j].strip()
                m = _STEP.match(line)
                if m and int(m.group(1)) == len(steps) + 1:
                    steps.append(line)
                elif line and lines[j - 1].strip():
                    steps[-1] += " " + line  # a wrapped step
                elif line:
                    break
                j += 1
            k = i
            while k > 0 and not lines[k - 1].strip():
                k -= 1
            start = k
            while start > 0 and lines[start - 1].strip():
                start -= 1
            instruction = self._procedure_question(" ".join(x.strip() for x in lines[start:k]))
            if len(steps) >= 2 and instruction:
                yield instruction, "\n".join(steps)
            i = j

    @staticmethod
    def _procedure_question(lead: str) -> str | None:
        """"To install foo, run:" -> "How do I install foo?"; "如何安装：" -> "如何安装？"."""
        if not lead.endswith((":", "：")):
            return None
        lead = lead.rstrip(":：").strip()
        m = re.match(r"^(?:To|In order to|How to)\s+([^,]+)", lead, re.I)
        if m:
            return f"How do I {m.group(1).strip()}?"
        m = re.match(r"^(?:要|为了|如何)([^，,]+)", lead)
        return f"如何{m.group(1).strip()}？" if m else None

    def _definitions(self, lines: list[str]) -> Iterator[tuple[str, str]]:
        for para in "\n".join(lines).split("\n\n"):
            text = " ".join(para.split())
            m = _EN_DEF.match(text)
            term = m.group("term") if m else ""
            words = term.split()
            if m and len(term) > 1 and words[0].lower() not in _NOT_TERMS and not any(w.endswith(".") for w in words):
                yield f"What {m.group('verb')} {m.group('term')}?", m.group(0)
                continue
            m = _ZH_DEF.match(text)
            if m:
                yield f"什么是{(m.group('term') or m.group('name')).strip()}？", m.group(0)

    # -- optional LLM generation ---------------------------------------------------------------------
    def setup(self) -> None:
        if self.generate:
            from transformers import AutoModelForCausalLM, AutoTokenizer, pipeline

            tokenizer = AutoTokenizer.from_pretrained(self.model, local_files_only=True)
            model = AutoModelForCausalLM.from_pretrained(self.model, local_files_only=True)
            self._generator = pipeline("text-generation", model=model, tokenizer=tokenizer)

    def _generated(self, lines: list[str]) -> Iterator[tuple[str, str]]:
        if "_generator" not in self.__dict__:
            self.setup()
        for para in _paragraphs(lines).split("\n\n"):
            if len(tokens(para)) < 20 or len(para) > self.max_response_chars:
                continue  # too short to ask about, or too long to answer with
            prompt = f"Passage: {para}\n\nWrite one question that the passage answers.\nQuestion:"
            out = self._generator(prompt, max_new_tokens=self.max_new_tokens, do_sample=False,
                                  return_full_text=False)[0]["generated_text"]
            question = out.strip().split("\n")[0].strip()
            if question:
                self.count("pairs_generated")
                yield question, para

    # -- step ----------------------------------------------------------------------------------------
    def apply(self, batch: pa.Table) -> pa.Table:
        ids = batch.column("id").to_pylist() if "id" in batch.column_names else [None] * batch.num_rows
        take, messages, rules, new_ids, sources = [], [], [], [], []
        for row, (text, doc_id) in enumerate(zip(self.texts(batch), ids, strict=False)):
            if not isinstance(text, str):
                continue
            doc_id = str(doc_id) if doc_id is not None else str(row)
            for n, (rule, instruction, response) in enumerate(self.extract(text), start=1):
                take.append(row)
                messages.append([{"role": "user", "content": instruction}, {"role": "assistant", "content": response}])
                rules.append(rule)
                new_ids.append(f"{doc_id}-{n}")
                sources.append(doc_id)
                self.count(f"pairs_{rule}")
        out = batch.take(pa.array(take, pa.int64()))
        out = set_column(out, "messages", pa.array(messages, MESSAGES))
        out = set_column(out, "extraction", pa.array(rules, pa.string()))
        out = set_column(out, "source_id", pa.array(sources, pa.string()))
        return set_column(out, "id", pa.array(new_ids, pa.string()))
