"""One JSON encoder for every record: the dataclass fields are the JSON contract, in declaration order.

Before this module each record had a hand-written ``to_dict`` (47 of them, a third of the model) that
repeated its fields once more, so a field added to a record could be forgotten in its JSON, or written with
another name. Now a record's JSON *is* its fields (README "JSON output": add, never rename), converted by one
rule per value type:

- ``datetime`` -> ISO-8601 (``datetime.isoformat()``, what :func:`scanner.model.facts.iso` wrote);
- a value with a ``__json__()`` method -> what that returns (small value types such as ``FileVersion`` say
  how they are written, e.g. the dotted version string);
- a nested dataclass -> its own JSON (recursively), an ``Enum`` -> its value, tuples and lists -> lists;
- a field typed ``tuple[tuple[str, str], ...]`` (``details``, ``data``: named values kept in order) -> a dict;
- ``None``, strings, numbers and booleans as they are.

Where a record's JSON departs from "its fields, in order", the record says so once, in a class-level
:class:`JsonShape` (``json_shape: ClassVar[JsonShape]``) rather than per field with
``dataclasses.field(metadata=...)``: key *order* is a property of the whole record (golden files are text, and
several contracts emit keys in an order other than the fields'), so a class-level spec is the one place that
can say it; and the field declarations stay plain, which keeps the constructors (and the merges of the
helpers who add fields to these records) untouched. ``tests/scanner/model/test_codec.py`` checks that every
shape names real fields.

The stdlib is enough: ``dataclasses.fields`` + ``typing.get_type_hints`` give each class a plan (checked
once), turned into one generated function per class, as ``dataclasses`` generates ``__init__``. msgspec was
tried (0.23, ``to_builtins``): it writes a UTC time as ``...Z`` where every contract and golden has
``+00:00``, keeps tuples, and has no flatten or key order, so it would need a pass over its output; cattrs
would need a custom hook for each of the shaped records. Either adds a dependency for less than this module.
Measured with ``tests/bench/bench_codec.py`` (scan + inventory JSON of the 7 fixture scenarios, 50 rounds,
best of 3, on a shared 2-core machine): hand-written methods 7.5-8.1 ms per scenario, this encoder 8.4-9.9 ms
(a plan interpreted field by field was 1.5x slower, hence the generated functions) — noise next to the
seconds a scan takes. No decoder: nothing parses a whole record back (``diff`` and ``preflight`` read the few
fields they need from saved JSON, type-checking each because the document is untrusted).
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Callable, Mapping
from datetime import datetime
from types import UnionType
from typing import Any, ClassVar, Literal, Union, get_args, get_origin, get_type_hints

__all__ = ["JsonRecord", "JsonShape", "encode", "encoder_of", "plan_of", "value_of"]

#: The annotation of a "pairs" field: (name, text) values in order, written as a JSON object.
PAIRS = tuple[tuple[str, str], ...]
_PLAIN = (str, int, float, bool, type(None))


@dataclasses.dataclass(frozen=True)
class JsonShape:
    """How one record's JSON departs from its fields in declaration order (all options empty: it doesn't).

    Attributes:
        order: output keys (a flattened field by its field name) written first, in this order; every other
            key follows in declaration order, computed keys last. Keys a contract emits in another order than
            the fields are declared (``Evidence``: says, at, then the provenance) are listed here.
        flatten: fields holding a record whose keys are written into this record's JSON, in its place
            (``SourceTime.source``: artifact, locator[, note] beside ``at``).
        omit_empty: fields left out when empty or false (``Provenance.note``).
        rename: field -> key, when the key is not the field's name.
        skip: fields not written (a computed key writes them another way).
        computed: key -> function of the record, for a key that is not a field (``schema_version``, the
            ``SystemFacts`` ``timezone`` name); its result is encoded like a field's value.
        convert: field -> function of the value, for a field written in another format than its type's.
    """

    order: tuple[str, ...] = ()
    flatten: tuple[str, ...] = ()
    omit_empty: tuple[str, ...] = ()
    rename: Mapping[str, str] = dataclasses.field(default_factory=dict)
    skip: tuple[str, ...] = ()
    computed: Mapping[str, Callable[[Any], Any]] = dataclasses.field(default_factory=dict)
    convert: Mapping[str, Callable[[Any], Any]] = dataclasses.field(default_factory=dict)


_DEFAULT_SHAPE = JsonShape()


class JsonRecord:
    """Gives a dataclass record its ``to_dict()``: the JSON contract, written by :func:`encode`.

    The ~100 call sites keep calling ``record.to_dict()``; a record whose JSON is not its fields in order
    sets ``json_shape``.
    """

    __slots__ = ()
    json_shape: ClassVar[JsonShape] = _DEFAULT_SHAPE

    def to_dict(self) -> dict[str, Any]:
        """The record as JSON-ready data (see the module docstring for how each value is written)."""
        return encode(self)


# One step of a plan: (key, attribute, converter or None, omit when empty, flatten into the parent).
# A computed key's attribute is None and its converter takes the record.
_Step = tuple[str, str | None, Callable[[Any], Any] | None, bool, bool]
_PLANS: dict[type, tuple[_Step, ...]] = {}
_ENCODERS: dict[type, Callable[[Any], dict[str, Any]]] = {}


def encode(record: Any) -> dict[str, Any]:
    """A dataclass record as a JSON-ready dict, keys in contract order."""
    return (_ENCODERS.get(type(record)) or encoder_of(type(record)))(record)


def value_of(value: Any) -> Any:
    """One value as JSON-ready data (the rules in the module docstring)."""
    if isinstance(value, _PLAIN):
        return value
    if isinstance(value, datetime):
        return value.isoformat()
    if hasattr(value, "__json__"):
        return value.__json__()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return encode(value)
    if isinstance(value, enum.Enum):
        return value_of(value.value)
    if isinstance(value, (tuple, list)):
        return [value_of(item) for item in value]
    if isinstance(value, dict):
        return {str(key): value_of(item) for key, item in value.items()}
    raise TypeError(f"no JSON form for {type(value).__name__}: {value!r}")


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _record(value: Any) -> dict[str, Any] | None:
    return encode(value) if value is not None else None


def _records(value: tuple[Any, ...]) -> list[dict[str, Any]]:
    return [encode(item) for item in value]


def _is_record(hint: Any) -> bool:
    """A record class the codec writes by its fields (a value type with ``__json__`` writes itself)."""
    return isinstance(hint, type) and dataclasses.is_dataclass(hint) and not hasattr(hint, "__json__")


def _converter(hint: Any) -> Callable[[Any], Any] | None:
    """The converter a field's declared type asks for; None for a plain value (written as it is).

    The common types get a converter of their own, chosen once when the plan is compiled, so writing a value
    does not test its type again; anything else (unions of several types, ``Any``, enums, value types) goes
    through :func:`value_of`, which looks at the value itself.
    """
    if hint == PAIRS:
        return dict
    parts = set(get_args(hint)) if get_origin(hint) in (Union, UnionType) else {hint}
    parts.discard(type(None))
    if len(parts) != 1:
        return value_of
    (kind,) = parts
    if kind in _PLAIN or get_origin(kind) is Literal:
        return None
    if kind is datetime:
        return _iso
    if _is_record(kind):
        return _record
    args = get_args(kind)
    if get_origin(kind) is tuple and len(args) == 2 and args[1] is Ellipsis and kind == hint:
        if args[0] in _PLAIN:
            return list
        if _is_record(args[0]):
            return _records
    return value_of


def plan_of(cls: type) -> tuple[_Step, ...]:
    """Compile (once) how ``cls`` is written: its fields and its :class:`JsonShape`, checked.

    Raises:
        TypeError: ``cls`` is not a dataclass, or its shape names a field it does not have.
    """
    plan = _PLANS.get(cls)
    if plan is not None:
        return plan
    if not dataclasses.is_dataclass(cls):
        raise TypeError(f"{cls.__name__} is not a dataclass record")
    shape: JsonShape = getattr(cls, "json_shape", _DEFAULT_SHAPE)
    fields = dataclasses.fields(cls)
    names = {f.name for f in fields}
    named = {*shape.flatten, *shape.omit_empty, *shape.rename, *shape.skip, *shape.convert}
    if named - names:
        raise TypeError(f"{cls.__name__}.json_shape names no such field(s): {sorted(named - names)}")
    if set(shape.flatten) & set(shape.omit_empty):
        raise TypeError(f"{cls.__name__}.json_shape: a flattened field cannot be omitted when empty")
    try:
        hints: dict[str, Any] = get_type_hints(cls)
    except NameError:  # an annotation imported only for type checkers: read the fields' own text instead
        hints = {f.name: PAIRS if f.type == "tuple[tuple[str, str], ...]" else Any for f in fields}
    steps: list[_Step] = []
    for f in fields:
        if f.name in shape.skip:
            continue
        flatten = f.name in shape.flatten
        key = f.name if flatten else shape.rename.get(f.name, f.name)
        convert = shape.convert.get(f.name) or _converter(hints.get(f.name))
        steps.append((key, f.name, convert, f.name in shape.omit_empty, flatten))
    steps += [(key, None, fn, False, False) for key, fn in shape.computed.items()]
    keys = [step[0] for step in steps]
    unknown = [key for key in shape.order if key not in keys]
    if unknown or len(set(shape.order)) != len(shape.order):
        raise TypeError(f"{cls.__name__}.json_shape.order names unknown or repeated key(s): {unknown}")
    rank = {key: i for i, key in enumerate(shape.order)}
    steps.sort(key=lambda step: rank.get(step[0], len(rank)))  # stable: the rest keep declaration order
    plan = tuple(steps)
    _PLANS[cls] = plan
    return plan


def encoder_of(cls: type) -> Callable[[Any], dict[str, Any]]:
    """The function that writes one ``cls`` record, generated once from its plan (and cached).

    The plan is turned into the body a hand-written ``to_dict`` would have: one dict display reading each
    attribute through its converter (``{"at": c1(r.at), **encode(r.source), ...}``), then the keys written
    only when non-empty. Generating it, as ``dataclasses`` itself generates ``__init__``, keeps the encoder
    as fast as the hand-written methods were (``tests/bench/bench_codec.py``); the source is the function's
    ``__doc__``.
    """
    encoder = _ENCODERS.get(cls)
    if encoder is not None:
        return encoder
    names: dict[str, Any] = {"encode": encode, "value_of": value_of}
    literal: list[str] = []  # the dict display, up to the first key that may be left out
    after: list[str] = []  # statements after it, in order
    for i, (key, attr, convert, omit_empty, flatten) in enumerate(plan_of(cls)):
        if convert is not None:
            names[f"c{i}"] = convert
        if attr is None:
            item, expr = f"{key!r}: value_of(c{i}(r))", f"value_of(c{i}(r))"
        elif flatten:
            item, expr = f"**encode(r.{attr})", ""
        else:
            expr = f"c{i}(r.{attr})" if convert is not None else f"r.{attr}"
            item = f"{key!r}: {expr}"
        if omit_empty:
            after.append(f"    if r.{attr}:\n        d[{key!r}] = {expr}")
        elif after:
            after.append(f"    d.update(encode(r.{attr}))" if flatten else f"    d[{key!r}] = {expr}")
        else:
            literal.append(item)
    body = ", ".join(literal)
    source = f"def encode_{cls.__name__}(r):\n"
    if after:
        source += f"    d = {{{body}}}\n" + "\n".join(after) + "\n    return d\n"
    else:
        source += f"    return {{{body}}}\n"
    exec(compile(source, f"<json encoder of {cls.__module__}.{cls.__qualname__}>", "exec"), names)
    encoder = names[f"encode_{cls.__name__}"]
    encoder.__doc__ = source
    _ENCODERS[cls] = encoder
    return encoder
