"""Instruction-specific filters: they read the ``messages`` column of canonical instruction records
(``input.format: alpaca``, ``sharegpt``, ...) and judge prompts against responses."""

from __future__ import annotations

import re
from typing import Any, Literal

import pyarrow as pa

from instructkit.formats.turns import check_role, is_messages_type
from instructkit.steps.base import Filter, set_column
from instructkit.text import normalize_for_hash, tokens

# Refusals and assistant boilerplate, matched on the normalised text (lower case, no punctuation).
REFUSALS = (
    "i m sorry but i cannot", "i am sorry but i cannot", "i m sorry but i can t", "i am sorry but i can t",
    "i cannot fulfill", "i can t fulfill", "i cannot assist with", "i can t assist with", "i cannot help with",
    "i can t help with", "i m unable to help", "i am unable to help", "i cannot provide", "i can t provide",
    "i must decline", "i won t be able to help",
    "很抱歉 我无法", "抱歉 我无法", "对不起 我无法", "我无法满足", "我不能帮助", "我无法提供", "我不能提供",
)
BOILERPLATE = (
    "as an ai language model", "as a language model", "as an ai assistant", "as an artificial intelligence",
    "i am an ai language model", "i m an ai language model", "i do not have personal opinions",
    "i don t have personal opinions", "my knowledge cutoff", "i do not have access to real time",
    "作为一个ai语言模型", "作为一个人工智能语言模型", "作为ai语言模型", "作为一个语言模型", "作为人工智能助手", "作为一个ai助手",
)


def _phrase_pattern(phrases: tuple[str, ...]) -> re.Pattern[str]:
    # Phrases are compared on normalize_for_hash text; CJK has no spaces, so match spaces optionally.
    keys = sorted({normalize_for_hash(p) for p in phrases}, key=len, reverse=True)
    return re.compile("|".join(r"\s?".join(re.escape(w) for w in k.split()) for k in keys))


def conversations(step: Filter, batch: pa.Table) -> list[list[dict[str, Any]]]:
    """The ``messages`` of each record: the step's ``field``, else the ``messages`` column."""
    column = getattr(step, "field", None) or ("messages" if "messages" in batch.column_names else step.text_field)
    if column not in batch.column_names or not is_messages_type(batch.schema.field(column).type):
        raise KeyError(
            f"step {step.name}: field {column!r} is not a messages column (import instruction data with "
            "input.format alpaca, sharegpt, messages, dolly, oasst or auto)"
        )
    return [turns or [] for turns in batch.column(column).to_pylist()]


def exchanges(turns: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """``(prompt, response)`` pairs: each assistant turn with the user turn just before it."""
    out = []
    for prev, turn in zip(turns, turns[1:], strict=False):
        if prev.get("role") == "user" and turn.get("role") == "assistant":
            out.append((prev.get("content") or "", turn.get("content") or ""))
    return out


class ShortResponse(Filter):
    """Drop records with an empty (``empty_response``) or too short (``short_response``) reply.

    Length is counted in tokens: words, or characters of Chinese and Japanese. With ``per_turn`` every
    turn of ``role`` must pass; otherwise the turns of ``role`` are judged together.

    ```yaml
    - short_response: {min_tokens: 2, role: assistant, per_turn: true}
    ```
    """

    name = "short_response"

    def __init__(self, *, field: str | None = None, min_tokens: int = 1, role: str | None = "assistant",
                 per_turn: bool = True) -> None:
        check_role(role)
        if min_tokens < 1:
            raise ValueError(f"min_tokens must be at least 1, got {min_tokens}")
        self.field = field
        self.min_tokens = min_tokens
        self.role = role
        self.per_turn = per_turn

    def check(self, batch: pa.Table) -> list[str | None]:
        return self.check_texts(batch, self.check_text)

    def check_text(self, text: str) -> str | None:
        n = len(tokens(text))
        if n == 0:
            return "empty_response"
        return "short_response" if n < self.min_tokens else None


class Refusal(Filter):
    """Drop refusals (``refusal``) and assistant boilerplate (``ai_boilerplate``) in replies.

    Refusals: "I'm sorry, but I cannot", "很抱歉，我无法"; boilerplate: "As an AI language model",
    "作为一个AI语言模型". Case, punctuation and width are ignored; ``phrases`` adds phrases (reported as
    ``refusal``).

    ```yaml
    - refusal: {role: assistant, phrases: ["I am not able to answer"]}
    ```
    """

    name = "refusal"
    _unpicklable = ("_patterns",)

    def __init__(self, *, field: str | None = None, role: str | None = "assistant", per_turn: bool = True,
                 phrases: list[str] | None = None) -> None:
        check_role(role)
        if phrases is not None and not all(normalize_for_hash(p) for p in phrases):
            raise ValueError("phrases must not contain empty or punctuation-only phrases")
        self.field = field
        self.role = role
        self.per_turn = per_turn
        self.phrases = phrases

    def setup(self) -> None:
        self._patterns = (("ai_boilerplate", _phrase_pattern(BOILERPLATE)),
                          ("refusal", _phrase_pattern(REFUSALS + tuple(self.phrases or ()))))

    def check(self, batch: pa.Table) -> list[str | None]:
        return self.check_texts(batch, self.check_text)

    def check_text(self, text: str) -> str | None:
        if "_patterns" not in self.__dict__:
            self.setup()
        norm = normalize_for_hash(text)
        for reason, pattern in self._patterns:
            if pattern.search(norm):
                self.count(f"{reason}_found")
                return reason
        return None


class PromptEcho(Filter):
    """Drop records where a reply mostly repeats its prompt (``response_repeats_prompt``).

    A reply repeats its prompt when at least ``threshold`` of its token ``ngram``s occur in the prompt
    (for replies shorter than ``ngram`` tokens: when its tokens equal the prompt's).

    ```yaml
    - prompt_echo: {threshold: 0.8, ngram: 3}
    ```
    """

    name = "prompt_echo"
    whole_conversation = True

    def __init__(self, *, field: str | None = None, threshold: float = 0.8, ngram: int = 3) -> None:
        if not 0.0 < threshold <= 1.0:
            raise ValueError(f"threshold must be within (0, 1], got {threshold}")
        if ngram < 1:
            raise ValueError(f"ngram must be at least 1, got {ngram}")
        self.field = field
        self.threshold = threshold
        self.ngram = ngram

    def echo(self, prompt: str, response: str) -> float:
        """Share of the reply's n-grams found in the prompt."""
        p, r = tokens(prompt), tokens(response)
        if not r:
            return 0.0
        if len(r) < self.ngram:
            return 1.0 if r == p else 0.0
        grams = lambda t: [tuple(t[i:i + self.ngram]) for i in range(len(t) - self.ngram + 1)]  # noqa: E731
        seen = set(grams(p))
        found = grams(r)
        return sum(g in seen for g in found) / len(found)

    def check(self, batch: pa.Table) -> list[str | None]:
        reasons = []
        for turns in conversations(self, batch):
            hit = any(self.echo(p, r) >= self.threshold for p, r in exchanges(turns))
            reasons.append("response_repeats_prompt" if hit else None)
        return reasons


class UnbalancedTurns(Filter):
    """Drop conversations whose turns do not form user/assistant exchanges.

    Reasons: ``no_turns``, ``misplaced_system`` (a system turn after the first), ``no_user_turn``,
    ``no_assistant_turn``, ``starts_with_assistant``, ``consecutive_turns`` (two turns of one role in a
    row), ``unanswered_prompt`` (the last turn is the user's; allowed with ``allow_unanswered``) and
    ``empty_turn`` (a turn with no text).

    ```yaml
    - unbalanced_turns: {allow_unanswered: false}
    ```
    """

    name = "unbalanced_turns"
    whole_conversation = True

    def __init__(self, *, field: str | None = None, allow_unanswered: bool = False) -> None:
        self.field = field
        self.allow_unanswered = allow_unanswered

    def check(self, batch: pa.Table) -> list[str | None]:
        return [self.problem(turns) for turns in conversations(self, batch)]

    def problem(self, turns: list[dict[str, Any]]) -> str | None:
        roles = [t.get("role") for t in turns]
        if not roles:
            return "no_turns"
        if "system" in roles[1:]:
            return "misplaced_system"
        roles = roles[1:] if roles[0] == "system" else roles
        if "user" not in roles:
            return "no_user_turn"
        if "assistant" not in roles:
            return "no_assistant_turn"
        if roles[0] != "user":
            return "starts_with_assistant"
        if any(a == b for a, b in zip(roles, roles[1:], strict=False)):
            return "consecutive_turns"
        if roles[-1] == "user" and not self.allow_unanswered:
            return "unanswered_prompt"
        if any(not (t.get("content") or "").strip() for t in turns):
            return "empty_turn"
        return None


class _LanguageRule(Filter):
    """Shared language detection: ``und`` for texts under ``min_tokens`` tokens or under ``min_score``."""

    _unpicklable = ("_lid",)
    min_tokens: int
    min_score: float

    def setup(self) -> None:
        from instructkit.steps.language import LanguageId

        self._lid = LanguageId(backend="py3langid")
        self._lid.setup()

    def language(self, text: str) -> str:
        if "_lid" not in self.__dict__:
            self.setup()
        if len(tokens(text)) < self.min_tokens:
            return "und"
        lang, score = self._lid.detect(text)
        return lang if score >= self.min_score else "und"


class LanguageMismatch(_LanguageRule):
    """Drop exchanges whose reply is in another language than the prompt (``language_mismatch:en-zh``).

    The prompt's language comes first in the reason. Annotates ``prompt_language`` and ``response_language`` (the user turns and
    the assistant turns, each joined); a text under ``min_tokens`` tokens, or whose language score is
    under ``min_score``, is too short or unclear to judge and is annotated ``und``. Translation data
    legitimately mixes languages: list such pairs in ``allow``.

    ```yaml
    - language_mismatch: {min_tokens: 3, min_score: 0.9, allow: ["en-zh", "zh-en"]}
    ```
    """

    name = "language_mismatch"
    whole_conversation = True

    def __init__(self, *, field: str | None = None, min_tokens: int = 3, min_score: float = 0.9,
                 allow: list[str] | None = None) -> None:
        if not 0.0 <= min_score <= 1.0:
            raise ValueError(f"min_score must be within 0..1, got {min_score}")
        if allow is not None and not all(re.fullmatch(r"[a-z]{2,3}-[a-z]{2,3}", a) for a in allow):
            raise ValueError(f"allow lists language pairs like 'en-zh', got {allow}")
        self.field = field
        self.min_tokens = min_tokens
        self.min_score = min_score
        self.allow = allow

    def annotate(self, batch: pa.Table) -> pa.Table:
        prompts, responses = [], []
        for turns in conversations(self, batch):
            pairs = exchanges(turns)
            prompts.append(self.language("\n\n".join(p for p, _ in pairs)))
            responses.append(self.language("\n\n".join(r for _, r in pairs)))
        batch = set_column(batch, "prompt_language", pa.array(prompts, pa.string()))
        return set_column(batch, "response_language", pa.array(responses, pa.string()))

    def check(self, batch: pa.Table) -> list[str | None]:
        if "response_language" not in batch.column_names:
            batch = self.annotate(batch)
        allow = set(self.allow or ())
        reasons: list[str | None] = []
        for p, r in zip(batch.column("prompt_language").to_pylist(), batch.column("response_language").to_pylist(), strict=False):
            pair = f"{p}-{r}"
            mismatch = "und" not in (p, r) and p != r and pair not in allow
            reasons.append(f"language_mismatch:{pair}" if mismatch else None)
        return reasons


class TurnLanguage(_LanguageRule):
    """Language ID per turn: drop conversations with a turn in a language not in ``keep``.

    Annotates ``turn_languages`` (one code per turn, ``und`` for turns under ``min_tokens`` tokens or
    scored under ``min_score``); the reason is ``turn_language_not_kept:<language>``, e.g. an English reply
    in a Chinese chat. ``role`` judges only that role's turns (every turn is still annotated).

    ```yaml
    - turn_language: {keep: [en, zh], min_tokens: 3, min_score: 0.9}
    ```
    """

    name = "turn_language"
    whole_conversation = True

    def __init__(self, *, field: str | None = None, keep: list[str] | None = None, min_tokens: int = 3,
                 min_score: float = 0.9, role: Literal["system", "user", "assistant"] | None = None) -> None:
        if not 0.0 <= min_score <= 1.0:
            raise ValueError(f"min_score must be within 0..1, got {min_score}")
        self.field = field
        self.keep = keep
        self.min_tokens = min_tokens
        self.min_score = min_score
        self.role = role

    def annotate(self, batch: pa.Table) -> pa.Table:
        langs = [[self.language(t.get("content") or "") for t in turns] for turns in conversations(self, batch)]
        return set_column(batch, "turn_languages", pa.array(langs, pa.list_(pa.string())))

    def check(self, batch: pa.Table) -> list[str | None]:
        if "turn_languages" not in batch.column_names:
            batch = self.annotate(batch)
        keep = set(self.keep) if self.keep else None
        reasons: list[str | None] = []
        for langs, turns in zip(batch.column("turn_languages").to_pylist(), conversations(self, batch), strict=True):
            judged = [lang for lang, t in zip(langs or (), turns, strict=False) if self.role in (None, t.get("role"))]
            bad = [lang for lang in judged if keep is not None and lang != "und" and lang not in keep]
            reasons.append(f"turn_language_not_kept:{bad[0]}" if bad else None)
        return reasons
