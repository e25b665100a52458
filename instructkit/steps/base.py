"""The step interface: Filter, Mapper and GlobalStep, their registry and parameter checking.

A step is a small class whose parameters are explicit keyword-only ``__init__`` arguments, each stored
under its own name (scikit-learn's rule), so a recipe typo is an error and a step can be rebuilt from
``get_params()``. Steps work on batches (``pyarrow.Table``); the runner, not the step, counts records,
times steps and routes every dropped record to the rejected sink with the step's name and reason.
"""

from __future__ import annotations

import difflib
import importlib
import importlib.util
import inspect
import pkgutil
import re
import types
import typing
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any, ClassVar, Literal

import pyarrow as pa

from instructkit.errors import RecipeError


class _Registry(Mapping[str, "type[Step]"]):
    """Step classes by recipe name. A step class registers itself when its module is imported; reading the
    registry first imports every built-in step module, so it always lists them all (while a worker process
    imports only the modules of the steps it runs)."""

    def __init__(self) -> None:
        self._classes: dict[str, type[Step]] = {}
        self._loaded = False

    def _load(self) -> None:
        if self._loaded:
            return
        self._loaded = True
        try:
            import instructkit.steps as package

            for module in sorted(m.name for m in pkgutil.iter_modules(package.__path__)):
                importlib.import_module(f"{package.__name__}.{module}")
        except BaseException:
            self._loaded = False
            raise

    def peek(self, name: str) -> type[Step] | None:
        """The class registered under ``name`` so far (without importing the built-in step modules)."""
        return self._classes.get(name)

    def add(self, name: str, cls: type[Step]) -> None:
        other = self._classes.get(name)
        if other is not None and other is not cls:
            raise TypeError(f"step name {name!r} used by {other.__module__}.{other.__qualname__} too")
        self._classes[name] = cls

    def __getitem__(self, name: str) -> type[Step]:
        self._load()
        return self._classes[name]

    def __iter__(self) -> Iterator[str]:
        self._load()
        return iter(self._classes)

    def __len__(self) -> int:
        self._load()
        return len(self._classes)

    def __repr__(self) -> str:
        return repr(dict(self))


STEPS = _Registry()
"""Every registered step class by its recipe name."""

Decisions = dict[int, dict[int, str]]
"""What a global step decides: part number -> {row number in that part -> drop reason}."""


class Step:
    """Base of all steps. Subclasses set ``name`` (the recipe key) and take keyword-only parameters."""

    name: ClassVar[str | None] = None
    #: Steps that read text take it from ``field``; ``None`` means the recipe's ``input.text_field``.
    text_field: str = "text"

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        step_name = cls.__dict__.get("name")
        if step_name is None:
            return
        if not re.fullmatch(r"[a-z][a-z0-9_]*", step_name):
            raise TypeError(f"step name {step_name!r} must be snake_case")
        for p in _init_parameters(cls):
            if p.kind is not inspect.Parameter.KEYWORD_ONLY:
                raise TypeError(f"{cls.__qualname__}: parameter {p.name!r} must be keyword-only (use `*,`)")
        STEPS.add(step_name, cls)

    # -- parameters ---------------------------------------------------------------------------------
    @classmethod
    def param_specs(cls) -> dict[str, tuple[Any, Any]]:
        """``{param: (type, default)}``; default is ``inspect.Parameter.empty`` when required.

        A step that reads a ``field`` can also target a conversation ``role`` (and a filter ``per_turn``)
        without declaring them: see ``targeting_specs``.
        """
        hints = typing.get_type_hints(cls.__init__)
        specs = {p.name: (hints.get(p.name, Any), p.default) for p in _init_parameters(cls)}
        for key, spec in cls.targeting_specs().items():
            specs.setdefault(key, spec)
        return specs

    @classmethod
    def targeting_specs(cls) -> dict[str, tuple[Any, Any]]:
        """Conversation targeting the framework gives every step with a ``field`` parameter:
        ``role`` (read only the turns of that role from ``messages``) and, for filters, ``per_turn``."""
        own = {p.name for p in _init_parameters(cls)}
        if "field" not in own or cls.whole_conversation:
            return {}
        specs: dict[str, tuple[Any, Any]] = {"role": (Literal["system", "user", "assistant"] | None, None)}
        if issubclass(cls, Filter):
            specs["per_turn"] = (bool, False)
        return {k: v for k, v in specs.items() if k not in own}

    def target(self, *, role: str | None = None, per_turn: bool | None = None) -> Step:
        """Python form of the recipe's targeting keys: ``GopherQuality().target(role="assistant")``."""
        specs = self.targeting_specs()
        if "role" in specs:
            self.role = role
        if per_turn is not None and "per_turn" in specs:
            self.per_turn = per_turn
        return self

    def get_params(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.param_specs()}

    @classmethod
    def from_params(cls, params: Mapping[str, Any] | None, *, where: str = "") -> Step:
        """Build the step from recipe parameters, checking names and types first."""
        params = dict(params or {})
        where = where or f"step {cls.name}"
        specs = cls.param_specs()
        for key, value in params.items():
            if key not in specs:
                hint = _did_you_mean(key, specs)
                valid = ", ".join(specs) or "none"
                raise RecipeError(f"{where}: unknown parameter {key!r}{hint}. Valid parameters: {valid}")
            tp = specs[key][0]
            if not conforms(value, tp):
                raise RecipeError(
                    f"{where}: parameter {key!r} expects {type_name(tp)}, got {type(value).__name__} {value!r}"
                )
        missing = [k for k, (_, d) in specs.items() if d is inspect.Parameter.empty and k not in params]
        if missing:
            raise RecipeError(f"{where}: missing required parameter(s): {', '.join(missing)}")
        targeting = {k: params.pop(k) for k in cls.targeting_specs() if k in params}
        try:
            step = cls(**params)
        except (ValueError, TypeError) as exc:
            raise RecipeError(f"{where}: {exc}") from exc
        step.check_requires(where)
        return step.target(**targeting) if targeting else step

    def __repr__(self) -> str:
        defaults = {k: d for k, (_, d) in self.param_specs().items()}
        changed = {k: v for k, v in self.get_params().items() if defaults.get(k) != v}
        args = ", ".join(f"{k}={v!r}" for k, v in changed.items())
        return f"{type(self).__name__}({args})"

    # -- life cycle ---------------------------------------------------------------------------------
    def setup(self) -> None:
        """Load models or lexicons; called once per worker before the first batch."""

    def requires(self) -> dict[str, str]:
        """Optional libraries this step needs with its parameters, ``{import name: instructkit extra}``:
        checked when a recipe is loaded, so a missing extra is a recipe error, not a failure mid-run."""
        return {}

    def check_requires(self, where: str = "") -> None:
        """``RecipeError`` naming the extra to install when a library of ``requires()`` is missing."""
        for module, extra in self.requires().items():
            if importlib.util.find_spec(module) is None:
                raise RecipeError(f"{where or 'step ' + str(self.name)}: needs {module}, which is not installed: "
                                  f"pip install 'instructkit[{extra}]'")

    def data_paths(self) -> dict[str, list[str]]:
        """Datasets the step reads besides its records, by parameter (``{"reference": [...]}``): checked to
        exist before any data is read."""
        return {}

    def count(self, metric: str, n: int | float = 1) -> None:
        """Report a metric (summed over batches and workers into the run's stats)."""
        metrics = self.__dict__.setdefault("_metrics", Counter())
        metrics[metric] += n

    def drain_metrics(self) -> dict[str, int | float]:
        metrics = self.__dict__.pop("_metrics", None)
        return dict(metrics) if metrics else {}

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state.pop("_metrics", None)
        for key in getattr(self, "_unpicklable", ()):
            state.pop(key, None)
        return state

    # -- text helpers -------------------------------------------------------------------------------
    #: Conversation targeting. ``role`` (``system``, ``user``, ``assistant``) makes a step read only the
    #: turns of that role from a ``messages`` column; ``per_turn`` makes a ``check_text`` filter judge
    #: each of those turns on its own (a record is dropped with the reason of its first failing turn).
    #: A step may declare them as parameters; otherwise these class defaults apply.
    role: str | None = None
    per_turn: bool = False
    #: Steps that judge a conversation's structure (exchanges, turn order) take no ``role``/``per_turn``.
    whole_conversation: ClassVar[bool] = False
    #: Folder that relative paths in the step's parameters (reference data, eval sets) resolve against:
    #: the recipe's folder when the step comes from a recipe file, else the current directory.
    base_dir: Path | None = None

    def field_name(self) -> str:
        """The column this step reads: its own ``field`` parameter if it has one, else the recipe's."""
        return getattr(self, "field", None) or self.text_field

    def _target(self, batch: pa.Table) -> tuple[str, str | None, bool]:
        from instructkit.formats.turns import resolve

        column, role, is_messages = resolve(batch, self.field_name(), self.role)
        if column not in batch.column_names:
            raise KeyError(
                f"step {self.name}: field {column!r} not in the records (fields: {', '.join(batch.column_names)})"
            )
        return column, role, is_messages

    def texts(self, batch: pa.Table) -> list[str | None]:
        """One text per record from the step's field.

        A ``messages`` column (``[{role, content}]``) gives the contents of its turns, of ``role`` only
        when set, joined by a blank line and without role labels (labels would add English words to every
        text and skew language ID and quality rules). Field names ``instruction``/``prompt``/``user`` and
        ``response``/``output``/``assistant``/``system`` read those turns when no such column exists.
        """
        from instructkit.formats.turns import join, select

        column, role, is_messages = self._target(batch)
        values = batch.column(column).to_pylist()
        if not is_messages:
            return values
        return [join(select(turns, role)) for turns in values]

    def turn_texts(self, batch: pa.Table) -> list[list[str] | None]:
        """The targeted texts of each record, one per turn (a plain text column gives one text each)."""
        from instructkit.formats.turns import select

        column, role, is_messages = self._target(batch)
        values = batch.column(column).to_pylist()
        if not is_messages:
            return [None if v is None else [v] for v in values]
        return [select(turns, role) for turns in values]

    def check_texts(self, batch: pa.Table, check: Any) -> list[str | None]:
        """``check(text) -> reason | None`` per record, or per targeted turn with ``per_turn``."""
        if not self.per_turn:
            return [check(t) if isinstance(t, str) else "no_text" for t in self.texts(batch)]
        reasons: list[str | None] = []
        for turns in self.turn_texts(batch):
            if turns is None:
                reasons.append("no_text")
                continue
            reasons.append(next((r for r in map(check, turns) if r is not None), None))
        return reasons

    def flat_turns(self, batch: pa.Table) -> tuple[list[str], list[int], list[bool]]:
        """For a vectorised ``per_turn`` check: every targeted turn as its own text, the record each comes
        from, and which records have no text at all."""
        flat: list[str] = []
        owner: list[int] = []
        missing = []
        for i, turns in enumerate(self.turn_texts(batch)):
            missing.append(turns is None)
            for text in turns or ():
                flat.append(text or "")
                owner.append(i)
        return flat, owner, missing

    @staticmethod
    def first_reasons(reasons: list[str | None], owner: list[int], missing: list[bool]) -> list[str | None]:
        """Per record, the reason of its first failing turn (``no_text`` for a record without text)."""
        out: list[str | None] = ["no_text" if m else None for m in missing]
        for reason, i in zip(reasons, owner, strict=True):
            if reason is not None and out[i] is None:
                out[i] = reason
        return out

    def map_texts(self, batch: pa.Table, fn: Any) -> pa.Table:
        """``batch`` with ``fn(text) -> text`` applied to the step's field; on a ``messages`` column it
        rewrites the content of each targeted turn and keeps the conversation's shape."""
        from instructkit.formats.turns import rewrite

        column, role, is_messages = self._target(batch)
        values = batch.column(column).to_pylist()
        if is_messages:
            new = [rewrite(turns, role, fn) for turns in values]
            return set_column(batch, column, pa.array(new, batch.schema.field(column).type))
        return set_column(batch, column, [fn(t) if isinstance(t, str) else t for t in values])


class Filter(Step):
    """Keeps a record or drops it with a reason.

    Implement ``check(batch)`` (vectorised) or ``check_record(record)`` / ``check_text(text)``.
    """

    def annotate(self, batch: pa.Table) -> pa.Table:
        """Add score columns before deciding (dolma's split of scoring from deciding); kept rows keep them."""
        return batch

    def check(self, batch: pa.Table) -> list[str | None]:
        """One drop reason per row, ``None`` to keep."""
        if type(self).check_text is not Filter.check_text:
            return self.check_texts(batch, self.check_text)
        return [self.check_record(r) for r in batch.to_pylist()]

    def check_record(self, record: dict[str, Any]) -> str | None:
        raise NotImplementedError(f"{type(self).__name__} implements neither check nor check_record")

    def check_text(self, text: str) -> str | None:
        raise NotImplementedError


class Mapper(Step):
    """Changes or annotates records. Returns as many rows as it gets, in the same order, unless the
    class sets ``expands = True`` (one record becomes several, e.g. instruction extraction)."""

    expands: ClassVar[bool] = False

    def apply(self, batch: pa.Table) -> pa.Table:
        if type(self).apply_text is not Mapper.apply_text:
            return self.map_texts(batch, self.apply_text)
        raise NotImplementedError(f"{type(self).__name__} implements neither apply nor apply_text")

    def apply_text(self, text: str) -> str:
        raise NotImplementedError


class GlobalStep(Step):
    """Sees the whole dataset before deciding (dedup). Like scikit-learn's fit, then a decision.

    ``index(batch)`` runs in the workers, once per part, and returns something small and picklable
    (hashes, signatures); the runner spills it to disk. ``fit(indexes, scratch)`` runs once, reads the
    ``(part, index)`` pairs in part order and returns the drops it decides: ``{part: {row: reason}}``.
    ``scratch`` is a directory for external sorting that the runner removes after the run.
    """

    def index(self, batch: pa.Table) -> Any:
        raise NotImplementedError

    def fit(self, indexes: Iterable[tuple[int, Any]], scratch: Path) -> Decisions:
        raise NotImplementedError


# -- helpers for step authors ---------------------------------------------------------------------------
def set_column(batch: pa.Table, name: str, values: Any) -> pa.Table:
    """Return ``batch`` with column ``name`` set to ``values`` (replaced in place if it exists)."""
    array = values if isinstance(values, (pa.Array, pa.ChunkedArray)) else pa.array(values)
    if name in batch.column_names:
        return batch.set_column(batch.column_names.index(name), name, array)
    return batch.append_column(name, array)


def iter_steps() -> Iterator[tuple[str, type[Step]]]:
    """Registered steps in name order (the built-in ones all included)."""
    yield from sorted(STEPS.items())


def get_step(name: str, *, where: str = "") -> type[Step]:
    from instructkit.steps import HOMES

    if name in HOMES:  # a built-in step: import its module only
        importlib.import_module(f"instructkit.steps.{HOMES[name]}")
    registered = STEPS.peek(name)
    if registered is not None:
        return registered
    if name not in STEPS:
        hint = _did_you_mean(name, STEPS)
        prefix = f"{where}: " if where else ""
        raise RecipeError(f"{prefix}unknown step {name!r}{hint}. Valid steps: {', '.join(sorted(STEPS))}")
    return STEPS[name]


def kind_of(cls: type[Step]) -> str:
    for kind, base in (("global", GlobalStep), ("filter", Filter), ("mapper", Mapper)):
        if issubclass(cls, base):
            return kind
    return "step"


# -- type checking of YAML values ---------------------------------------------------------------------
def conforms(value: Any, tp: Any) -> bool:
    """Whether a YAML value fits a parameter annotation (int is accepted for float; bool is not int)."""
    if tp is Any or tp is object:
        return True
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        return any(conforms(value, a) for a in args)
    if origin is Literal:
        return value in args
    if tp is type(None):
        return value is None
    if tp is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if tp is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if origin in (list, tuple, typing.Sequence, Iterable) or tp in (list, tuple):
        if not isinstance(value, (list, tuple)):
            return False
        if origin is tuple and args and args[-1] is not Ellipsis:
            return len(args) == len(value) and all(conforms(v, a) for v, a in zip(value, args, strict=True))
        return not args or all(conforms(v, args[0]) for v in value)
    if origin in (dict, Mapping) or tp is dict:
        if not isinstance(value, dict):
            return False
        if not args:
            return True
        return all(conforms(k, args[0]) and conforms(v, args[1]) for k, v in value.items())
    if isinstance(tp, type):
        return isinstance(value, tp)
    return True


def type_name(tp: Any) -> str:
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        return " or ".join(type_name(a) for a in args)
    if origin is Literal:
        return "one of " + ", ".join(repr(a) for a in args)
    if tp is type(None):
        return "null"
    if origin is not None:
        inner = ", ".join("..." if a is Ellipsis else type_name(a) for a in args)
        return f"{getattr(origin, '__name__', str(origin))}[{inner}]"
    return getattr(tp, "__name__", str(tp))


def _init_parameters(cls: type) -> list[inspect.Parameter]:
    if cls.__init__ is object.__init__:
        return []
    params = list(inspect.signature(cls.__init__).parameters.values())[1:]
    return [p for p in params if p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)] + [
        p for p in params if p.kind is p.VAR_KEYWORD and _reject_kwargs(cls)
    ]


def _reject_kwargs(cls: type) -> bool:
    raise TypeError(f"{cls.__qualname__}: **kwargs is not allowed in a step's __init__; list each parameter")


def _did_you_mean(key: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(key, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""
