"""Template rendering: turn a labelled dataset (QA, classification, summarisation, translation,
extraction columns) into instruction/response conversations with sandboxed Jinja templates."""

from __future__ import annotations

import hashlib
import json
import math
import random
from functools import cache
from pathlib import Path
from typing import Any, Literal

import pyarrow as pa
import yaml
from jinja2 import StrictUndefined, TemplateSyntaxError, nodes
from jinja2.exceptions import SecurityError, UndefinedError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from instructkit.steps.base import Mapper, set_column
from instructkit.text import tokens

LIBRARY = Path(__file__).resolve().parent.parent / "templates"
MESSAGES = pa.list_(pa.struct([("role", pa.string()), ("content", pa.string())]))
Constraint = Literal["length", "tone", "format"]


def environment() -> ImmutableSandboxedEnvironment:
    return ImmutableSandboxedEnvironment(undefined=StrictUndefined, autoescape=False)


def check_template(source: str, where: str = "template") -> None:
    """Reject a template before anything runs: syntax errors, ``_``-prefixed names and attributes
    (``__class__``, ``__mro__``, ``__globals__``, ...), the ``attr`` filter, and includes/imports.

    A recipe's template is untrusted input; rendering also happens in Jinja's immutable sandbox.
    """
    try:
        tree = environment().parse(source)
    except TemplateSyntaxError as exc:
        raise ValueError(f"{where}: invalid Jinja syntax at line {exc.lineno}: {exc.message}") from None
    bad = []
    for node in tree.find_all((nodes.Getattr, nodes.Getitem, nodes.Name, nodes.Filter, nodes.Include,
                               nodes.Import, nodes.FromImport, nodes.Extends)):
        if isinstance(node, (nodes.Include, nodes.Import, nodes.FromImport, nodes.Extends)):
            raise ValueError(f"{where}: {type(node).__name__.lower()} is not allowed in templates")
        if isinstance(node, nodes.Filter) and node.name == "attr":
            raise ValueError(f"{where}: the 'attr' filter is not allowed in templates")
        name = getattr(node, "attr", None) or getattr(node, "name", None)
        if isinstance(node, nodes.Getitem):
            name = node.arg.value if isinstance(node.arg, nodes.Const) else None
        if isinstance(name, str) and name.startswith("_") and not isinstance(node, nodes.Filter):
            bad.append(name)
    if bad:
        names = ", ".join(repr(n) for n in dict.fromkeys(reversed(bad)))
        raise ValueError(f"{where}: {names} not allowed (names and attributes starting with '_' could reach "
                         "Python internals); nothing was rendered")


@cache
def library(task: str) -> dict[str, Any]:
    """A task's templates from the library (``instructkit/templates/<task>.yaml``)."""
    path = LIBRARY / f"{task}.yaml"
    if not path.is_file():
        raise ValueError(f"no template library for task {task!r}; available: {', '.join(tasks())}")
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def tasks() -> list[str]:
    return sorted(p.stem for p in LIBRARY.glob("*.yaml"))


class RenderTemplate(Mapper):
    """Render each record into a ``messages`` conversation (user instruction, assistant response).

    Templates come from the library (``task: qa | classification | summarisation | translation |
    extraction``, in ``language`` ``en`` or ``zh``, or per record from ``language_field``) or from the
    recipe (``instructions``, ``response``, ``system``). ``fields`` maps template variables to columns
    (``{question: q}``); ``variables`` are constants every template sees (``{options: [a, b]}``, the labels
    of a classification task). Each record gets one of the instruction templates, drawn with ``seed`` from
    its ``id``: the same record always gets the same template. Kinds of instruction:

    * task instructions: the templates themselves;
    * constraint instructions: ``constraints: [length, tone, format]`` appends one phrase of each kind;
      ``length`` states a limit the response meets (``limit``: its token count rounded up to 5);
    * example (few-shot) instructions: ``few_shot: k`` prefixes k other records of the batch, drawn
      with ``seed``, rendered with the same template.

    Templates run in Jinja's immutable sandbox and are checked when the recipe is loaded: ``_`` names
    and attributes, ``attr`` and includes are rejected before anything runs. Adds ``messages`` (or
    ``output_field``) and ``template`` (which template and constraints were used).

    ```yaml
    - render_template: {task: qa, language: en, fields: {question: question, answer: answer}, constraints: [length], few_shot: 1, seed: 0}
    ```
    """

    name = "render_template"
    _unpicklable = ("_compiled", "_spec")

    def __init__(
        self,
        *,
        task: str | None = None,
        language: str = "en",
        language_field: str | None = None,
        instructions: list[str] | None = None,
        response: str | None = None,
        system: str | None = None,
        fields: dict[str, str] | None = None,
        variables: dict[str, Any] | None = None,
        constraints: list[Constraint] | None = None,
        few_shot: int = 0,
        seed: int = 0,
        output_field: str = "messages",
    ) -> None:
        if task is None and not (instructions and response):
            raise ValueError("give a library task (task: qa) or your own instructions and response templates")
        if few_shot < 0:
            raise ValueError(f"few_shot must be 0 or more, got {few_shot}")
        self.task = task
        self.language = language
        self.language_field = language_field
        self.instructions = instructions
        self.response = response
        self.system = system
        self.fields = fields
        self.variables = variables
        self.constraints = constraints
        self.few_shot = few_shot
        self.seed = seed
        self.output_field = output_field
        for lang, spec in self._specs().items():
            for key, source in _sources(spec):
                check_template(source, f"{self.task or 'recipe'} template {lang}.{key}")

    def _specs(self) -> dict[str, dict[str, Any]]:
        """Templates per language: the library's, overridden by the recipe's."""
        specs: dict[str, dict[str, Any]] = {}
        if self.task:
            lib = library(self.task)
            specs = {lang: dict(lib[lang]) for lang in ("en", "zh") if lang in lib}
            if self.language not in specs:
                raise ValueError(f"task {self.task!r} has no {self.language!r} templates ({', '.join(specs)})")
        own = {k: v for k, v in (("instructions", self.instructions), ("response", self.response)) if v}
        if own:
            specs = {lang: {**spec, **own} for lang, spec in specs.items()} or {self.language: own}
        for spec in specs.values():
            if self.system:
                spec["system"] = self.system
            missing = [k for k in self.constraints or () if k not in spec.get("constraints", {})]
            if missing:
                raise ValueError(f"no {', '.join(missing)} constraint phrases for these templates")
        return specs

    def setup(self) -> None:
        env = environment()
        self._spec = self._specs()
        self._compiled = {lang: {key: env.from_string(src) for key, src in _sources(spec)}
                          for lang, spec in self._specs().items()}

    def _render(self, lang: str, key: str, variables: dict[str, Any]) -> str:
        try:
            return self._compiled[lang][key].render(variables).strip()
        except UndefinedError as exc:
            raise KeyError(f"step {self.name}: template {lang}.{key} uses a field the records lack ({exc}); "
                           "map it with fields: {variable: column}") from None
        except SecurityError as exc:
            raise ValueError(f"step {self.name}: template {lang}.{key} was stopped by the sandbox: {exc}") from None

    def apply(self, batch: pa.Table) -> pa.Table:
        if "_compiled" not in self.__dict__:
            self.setup()
        rows = batch.to_pylist()
        mapping = self.fields or {}
        variables = [{**(self.variables or {}), **r, **{var: r.get(col) for var, col in mapping.items()}}
                     for r in rows]
        optional = library(self.task).get("optional", []) if self.task else []
        for v in variables:
            for name in optional:
                v.setdefault(name, None)
        langs = [self._language(r) for r in rows]
        rngs = [random.Random(f"{self.seed}\x00{_key(r)}") for r in rows]
        picks = [rng.randrange(len(self._spec[lang]["instructions"])) for rng, lang in zip(rngs, langs, strict=False)]
        messages, used = [], []
        for i, (v, lang, rng, pick) in enumerate(zip(variables, langs, rngs, picks, strict=False)):
            instruction = self._render(lang, f"instructions.{pick}", v)
            answer = self._render(lang, "response", v)
            label = [f"{self.task or 'recipe'}.{lang}.{pick}"]
            extra = []
            for kind in self.constraints or ():
                j = rng.randrange(len(self._spec[lang]["constraints"][kind]))
                limit = max(5, math.ceil(len(tokens(answer)) / 5) * 5)
                extra.append(self._render(lang, f"constraints.{kind}.{j}", {**v, "limit": limit}))
                label.append(f"{kind}.{j}")
            if extra:
                instruction = instruction + "\n\n" + " ".join(extra)
            if self.few_shot:
                others = [j for j in range(len(rows)) if j != i and langs[j] == lang]
                chosen = sorted(rng.sample(others, min(self.few_shot, len(others))))
                shots = [self._render(lang, "example", {
                    "n": n, "instruction": self._render(lang, f"instructions.{pick}", variables[j]),
                    "response": self._render(lang, "response", variables[j])}) for n, j in enumerate(chosen, 1)]
                if shots:
                    intro = self._render(lang, "examples_intro", v)
                    instruction = "\n\n".join([intro, *shots, instruction])
                    label.append(f"few_shot.{len(shots)}")
            turns = [{"role": "user", "content": instruction}, {"role": "assistant", "content": answer}]
            if "system" in self._compiled[lang]:
                turns.insert(0, {"role": "system", "content": self._render(lang, "system", v)})
            messages.append(turns)
            used.append("+".join(label))
        batch = set_column(batch, self.output_field, pa.array(messages, MESSAGES))
        self.count("rendered", len(rows))
        return set_column(batch, "template", pa.array(used, pa.string()))

    def _language(self, row: dict[str, Any]) -> str:
        lang = row.get(self.language_field) if self.language_field else None
        lang = str(lang).split("-")[0].lower() if lang else self.language
        return lang if lang in self._compiled else self.language


def _sources(spec: dict[str, Any]) -> list[tuple[str, str]]:
    """``(key, template source)`` for every template of one language's spec."""
    out = [(f"instructions.{i}", s) for i, s in enumerate(spec.get("instructions", []))]
    for key in ("response", "system", "examples_intro", "example"):
        if spec.get(key):
            out.append((key, spec[key]))
    for kind, phrases in (spec.get("constraints") or {}).items():
        out += [(f"constraints.{kind}.{j}", s) for j, s in enumerate(phrases)]
    return out


def _key(row: dict[str, Any]) -> str:
    if row.get("id") is not None:
        return str(row["id"])
    blob = json.dumps(row, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.blake2b(blob.encode("utf-8"), digest_size=8).hexdigest()
