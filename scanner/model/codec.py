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
helpers who add fields to these records) untouched. ``tests/scanner/test_codec.py`` checks that every shape
names real fields.

The stdlib is enough (``dataclasses.fields`` + ``typing.get_type_hints``, compiled once per class into a
plan): cattrs or msgspec would add a dependency to express the same five options through their own hook
APIs, and the measurement in ``tests/bench/bench_codec.py`` shows the plan encoder close to the hand-written
methods it replaces. No decoder: nothing parses a whole record back (``diff`` and ``preflight`` read the few
fields they need from saved JSON).
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, ClassVar, get_type_hints

__all__ = ["JsonRecord", "JsonShape", "encode", "plan_of"]

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


def encode(record: Any) -> dict[str, Any]:
    """A dataclass record as a JSON-ready dict, keys in contract order."""
    plan = _PLANS.get(type(record)) or plan_of(type(record))
    data: dict[str, Any] = {}
    for key, attr, convert, omit_empty, flatten in plan:
        if attr is None:  # a computed key: ``convert`` takes the record
            data[key] = value_of(convert(record)) if convert is not None else None
            continue
        value = getattr(record, attr)
        if omit_empty and not value:
            continue
        if flatten:
            if value is not None:
                data.update(encode(value))
            continue
        data[key] = value if convert is None else convert(value)
    return data


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


def _pairs(value: tuple[tuple[str, str], ...]) -> dict[str, str]:
    return dict(value)


def _converter(hint: Any) -> Callable[[Any], Any] | None:
    """The converter a field's type asks for; None for plain values (written as they are)."""
    if hint == PAIRS:
        return _pairs
    if hint in _PLAIN or hint in (str | None, int | None, bool | None):
        return None
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
