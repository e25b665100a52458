"""Render conversations with a tokenizer's chat template and report their length in tokens."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa

from instructkit.steps.base import Mapper, set_column
from instructkit.steps.instructions import conversations


class ChatTemplate(Mapper):
    """Render conversations with a tokenizer's chat template and report their tokens and truncation.

    The report to read before training. Needs the transformers extra; ``tokenizer`` is a local directory
    (no download),
    or ``sample:instructions/tokenizer``, the small BPE shipped for the instruction samples.

    Adds ``num_tokens`` and ``truncated_tokens`` (tokens beyond ``max_length``, which training would cut)
    per record, and the rendered text in ``output_field`` (``null`` to skip it). Reports the metrics
    ``tokens``, ``records_over_max_length`` and ``truncated_tokens`` for the whole dataset, and the length
    distribution as ``records_up_to_<n>_tokens`` for n = 64, 128, ... up to ``max_length`` (cumulative).
    ``chat_template`` overrides the tokenizer's template (it runs in Jinja's sandbox, as transformers
    renders every chat template).

    ```yaml
    - chat_template: {tokenizer: "sample:instructions/tokenizer", max_length: 2048, output_field: chat_text}
    ```
    """

    name = "chat_template"
    whole_conversation = True
    _unpicklable = ("_tokenizer",)

    def __init__(
        self,
        *,
        tokenizer: str,
        field: str | None = None,
        max_length: int = 2048,
        chat_template: str | None = None,
        add_generation_prompt: bool = False,
        output_field: str | None = "chat_text",
    ) -> None:
        if max_length < 1:
            raise ValueError(f"max_length must be at least 1, got {max_length}")
        self.tokenizer = tokenizer
        self.field = field
        self.max_length = max_length
        self.chat_template = chat_template
        self.add_generation_prompt = add_generation_prompt
        self.output_field = output_field

    def requires(self) -> dict[str, str]:
        return {"transformers": "train"}

    def buckets(self) -> list[int]:
        bounds, b = [], 64
        while b < self.max_length:
            bounds.append(b)
            b *= 2
        return bounds + [self.max_length]

    def setup(self) -> None:
        try:
            from transformers import AutoTokenizer
        except ImportError as exc:
            raise RuntimeError("chat_template needs transformers: pip install 'instructkit[train]'") from exc
        path = Path(self.tokenizer).expanduser()
        if self.tokenizer.startswith("sample:"):
            from instructkit import samples

            path = Path(samples.__file__).parent / self.tokenizer[len("sample:"):]
        if not path.is_dir():
            raise FileNotFoundError(f"step chat_template: tokenizer {self.tokenizer!r} is not a local directory "
                                    "(save one with tokenizer.save_pretrained(path))")
        self._tokenizer = AutoTokenizer.from_pretrained(str(path), local_files_only=True)
        if self.chat_template is None and not getattr(self._tokenizer, "chat_template", None):
            raise ValueError(f"step chat_template: tokenizer {self.tokenizer!r} has no chat template; "
                             "set chat_template: in the recipe")

    def apply(self, batch: pa.Table) -> pa.Table:
        if "_tokenizer" not in self.__dict__:
            self.setup()
        texts, counts, cut = [], [], []
        for turns in conversations(self, batch):
            text = self._tokenizer.apply_chat_template(
                [{"role": t["role"], "content": t["content"]} for t in turns], tokenize=False,
                chat_template=self.chat_template, add_generation_prompt=self.add_generation_prompt)
            n = len(self._tokenizer(text, add_special_tokens=False)["input_ids"])
            texts.append(text)
            counts.append(n)
            cut.append(max(0, n - self.max_length))
        self.count("tokens", sum(counts))
        self.count("records_over_max_length", sum(c > 0 for c in cut))
        self.count("truncated_tokens", sum(cut))
        for bound in self.buckets():
            self.count(f"records_up_to_{bound}_tokens", sum(n <= bound for n in counts))
        batch = set_column(batch, "num_tokens", pa.array(counts, pa.int64()))
        batch = set_column(batch, "truncated_tokens", pa.array(cut, pa.int64()))
        if self.output_field:
            batch = set_column(batch, self.output_field, pa.array(texts, pa.string()))
        return batch
