"""The compiled knowledge base as a data file: JSON with a sha256 of its content, never a pickle.

A cold CLI start would spend most of its own time parsing and validating ~500 knowledge items, so
`knowledge_files` keeps the result in the user's cache folder. A pickle there would run whatever
a planted file says; this format can only describe data.

The file is a header line, `advisor-knowledge-cache 1 <sha256 of the rest>`, then three JSON
lines: the classes it names, the sources it was built from ({name: sha256}, compared with the
files as they are now), and the object. Any changed byte (a bit flip, a truncation, a foreign
file) fails the checksum, and the caller rebuilds from the knowledge files.

The object is plain JSON values and lists, and tagged JSON objects (`{"~": tag, ...}`) for
tuples, sets, dicts (keys of any type), and objects of the advisor's own classes. Only classes of
modules under `advisor.core` that are already imported can be named, and only pydantic models,
enums, named tuples, dataclasses and slotted classes whose fields are exactly the ones listed:
each is rebuilt by assigning its stored fields (for models, what `model_construct` and unpickling
set, without re-validation: the checksum has vouched for the content), never by calling code the
file names. Objects other than lists that are shared in the graph stay shared: each tagged
object is numbered in the order it closes, and `{"~": "r", "i": n}` is the n-th again.

A large table of models (the claims, the references) is kept as one JSON text per entry and
decoded when that entry is first read (`LazyMapping`): a recommendation reads a few dozen of
~500 claims, so a cold start skips building the rest.

`encode` raises `Unsupported` for anything else (the caller then goes without a cache); `decode`
raises `Invalid` for every fault of a file, and nothing else.
"""

from __future__ import annotations

import dataclasses
import enum
import gc
import hashlib
import json
import sys
import threading
import types
import typing
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from advisor.core.knowledge import KnowledgeError

MAGIC = b"advisor-knowledge-cache"
FORMAT = 1
ALLOWED_MODULES = ("advisor.core.",)
MAX_BYTES = 64 * 1024 * 1024
"""a compiled knowledge base is well under 1 MB; anything far bigger is not one"""


LAZY_MIN = 16
"""a dict of at least this many models is stored entry by entry and decoded on demand"""


class Unsupported(TypeError):
    """An object the format cannot describe."""


class Invalid(ValueError):
    """A cache file that is not exactly what this advisor wrote (the caller rebuilds)."""


_PLAIN = (str, int, float, bool, type(None))
_set = object.__setattr__


def _class_name(cls: type) -> str:
    if not cls.__module__.startswith(ALLOWED_MODULES) or "<" in cls.__qualname__:
        raise Unsupported(f"{cls.__module__}.{cls.__qualname__} is not an advisor.core class")
    return f"{cls.__module__}:{cls.__qualname__}"


def _slots(cls: type) -> list[str]:
    names: list[str] = []
    for klass in cls.__mro__:
        for name in klass.__dict__.get("__slots__", ()):
            if name not in ("__weakref__", "__dict__") and name not in names:
                names.append(name)
    return names


class _Encoder:
    def __init__(self) -> None:
        self.memo: dict[int, int] = {}
        self.keep: list[Any] = []  # holds every numbered object, so no id() is reused meanwhile
        self.active: set[int] = set()
        self.classes: dict[type, int] = {}
        self.table: list[list[Any]] = []

    def _class(self, cls: type, fields: list[str]) -> int:
        index = self.classes.get(cls)
        if index is None:
            index = self.classes[cls] = len(self.table)
            entry: list[Any] = [_class_name(cls), fields]
            self.table.append(entry)
            if issubclass(cls, BaseModel):
                entry.append(
                    [[i, self._class(e, [])] for i, e in enumerate(_enum_fields(cls, fields)) if e]
                )
        elif self.table[index][1] != fields:
            raise Unsupported(f"{cls.__qualname__} objects with different fields")
        return index

    def _model_values(self, obj: BaseModel, index: int) -> list[Any]:
        """A model's field values; those its class declares as an enum as the plain value."""
        enums = dict(self.table[index][2])
        values = []
        for i, value in enumerate(obj.__dict__.values()):
            if i in enums and value is not None:
                enum_cls = self.table[enums[i]][0]
                if not isinstance(value, enum.Enum) or _class_name(type(value)) != enum_cls:
                    raise Unsupported(f"{type(obj).__qualname__}: a field that is not its enum")
                values.append(self.node(value.value))
            else:
                values.append(self.node(value))
        return values

    def node(self, obj: Any) -> Any:
        kind = type(obj)
        if kind in _PLAIN:
            return obj
        if kind is LazyMapping:  # a table loaded from a cache: stored as the dict it stands for
            obj, kind = dict(obj), dict
        if kind is list:
            return [self.node(v) for v in obj]
        ident = id(obj)
        if ident in self.memo:
            return {"~": "r", "i": self.memo[ident]}
        if ident in self.active:
            raise Unsupported("a cycle in the knowledge graph")
        self.active.add(ident)
        try:
            encoded = self._compound(obj, kind)
        finally:
            self.active.discard(ident)
        self.memo[ident] = len(self.keep)  # numbered as it closes, as the decoder sees it
        self.keep.append(obj)
        return encoded

    def _values(self, values: Any) -> list[Any]:
        return [self.node(v) for v in values]

    def _lazy(self, obj: dict[Any, Any]) -> dict[str, Any]:
        """A dict of models, each entry its own JSON text with its own numbering."""
        texts = []
        for value in obj.values():
            entry = _Encoder()
            entry.classes, entry.table = self.classes, self.table  # one class table for all
            texts.append(_line(entry.node(value)).decode("ascii"))
        return {"~": "z", "k": list(obj), "v": texts}

    def _compound(self, obj: Any, kind: type) -> dict[str, Any]:
        if kind is tuple:
            return {"~": "t", "v": self._values(obj)}
        if kind is dict:
            if (
                len(obj) >= LAZY_MIN
                and all(type(key) is str for key in obj)
                and all(isinstance(value, BaseModel) for value in obj.values())
            ):
                return self._lazy(obj)
            return {"~": "d", "v": [self.node(x) for pair in obj.items() for x in pair]}
        if kind is frozenset or kind is set:
            return {"~": "f" if kind is frozenset else "s", "v": self._values(obj)}
        _class_name(kind)  # only the advisor's own classes, checked before touching the object
        if isinstance(obj, enum.Enum):
            return {"~": "e", "c": self._class(kind, []), "v": self.node(obj.value)}
        if isinstance(obj, BaseModel):
            fields = list(obj.__dict__)
            given = obj.model_fields_set
            index = self._class(kind, fields)
            encoded = {
                "~": "m",
                "c": index,
                "v": self._model_values(obj, index),
                "s": sum(1 << i for i, name in enumerate(fields) if name in given),
            }
            extra, private = obj.__pydantic_extra__, obj.__pydantic_private__
            if extra is not None or private is not None:
                if private is not None:
                    private = {k: v for k, v in private.items() if v is not PydanticUndefined}
                encoded["x"] = [self.node(extra), self.node(private)]
            return encoded
        if isinstance(obj, tuple) and hasattr(kind, "_fields"):
            return {"~": "n", "c": self._class(kind, list(kind._fields)), "v": self._values(obj)}
        if dataclasses.is_dataclass(obj):
            names = [f.name for f in dataclasses.fields(obj)]
            values = self._values(getattr(obj, name) for name in names)
            return {"~": "c", "c": self._class(kind, names), "v": values}
        slots = _slots(kind)
        if slots and not hasattr(obj, "__dict__"):
            values = self._values(getattr(obj, name) for name in slots)
            return {"~": "o", "c": self._class(kind, slots), "v": values}
        raise Unsupported(f"cannot cache a {kind.__module__}.{kind.__qualname__}")


def _enum_fields(cls: type[BaseModel], fields: list[str]) -> list[type[enum.Enum] | None]:
    """Per field, the enum its annotation says it holds (`E` or `E | None`), else None."""
    found: list[type[enum.Enum] | None] = []
    for name in fields:
        annotation: Any = cls.model_fields[name].annotation
        options = [a for a in typing.get_args(annotation) if a is not type(None)]
        if typing.get_origin(annotation) in (typing.Union, types.UnionType) and len(options) == 1:
            annotation = options[0]
        is_enum = isinstance(annotation, type) and issubclass(annotation, enum.Enum)
        found.append(annotation if is_enum else None)
    return found


def _line(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=True, allow_nan=False).encode()


def encode(obj: Any, sources: dict[str, str]) -> bytes:
    """The cache file's bytes for `obj` built from `sources` ({name: sha256})."""
    encoder = _Encoder()
    data = encoder.node(obj)
    body = b"\n".join([_line(encoder.table), _line(sources), _line(data)])
    return MAGIC + b" %d " % FORMAT + hashlib.sha256(body).hexdigest().encode() + b"\n" + body


def _resolve(name: Any) -> type:
    if not isinstance(name, str) or ":" not in name:
        raise Invalid("bad class name")
    module_name, _, qualname = name.partition(":")
    if not module_name.startswith(ALLOWED_MODULES):
        raise Invalid(f"class outside advisor.core: {name}")
    module = sys.modules.get(module_name)  # never imports: only classes already loaded
    if module is None:
        raise Invalid(f"module not loaded: {module_name}")
    found: Any = module
    for part in qualname.split("."):
        if part.startswith("_") and part.endswith("_"):
            raise Invalid(f"bad class name: {name}")
        found = getattr(found, part, None)
    if not isinstance(found, type) or found.__module__ != module_name:
        raise Invalid(f"not a class of {module_name}: {qualname}")
    return found


class _Class:
    """A class the file names, checked against the fields the file says its objects hold."""

    def __init__(self, entry: Any) -> None:
        if not isinstance(entry, list) or len(entry) not in (2, 3):
            raise Invalid("bad class entry")
        name, fields = entry[0], entry[1]
        self.enum_entries = entry[2] if len(entry) == 3 else []
        self.enums: list[tuple[int, dict[Any, Any]]] = []  # filled in by _Table
        cls = _resolve(name)
        if not isinstance(fields, list) or not all(isinstance(f, str) for f in fields):
            raise Invalid(f"{name}: bad field list")
        expected: set[str] = set()
        if issubclass(cls, enum.Enum):
            self.kind = "e"
        elif issubclass(cls, BaseModel):
            self.kind, expected = "m", set(cls.model_fields)
        elif issubclass(cls, tuple) and hasattr(cls, "_fields"):
            self.kind, expected = "n", set(cls._fields)
        elif dataclasses.is_dataclass(cls):
            self.kind, expected = "c", {f.name for f in dataclasses.fields(cls)}
        elif _slots(cls):
            self.kind, expected = "o", set(_slots(cls))
        else:
            raise Invalid(f"{name}: not a data class")
        if set(fields) != expected or len(set(fields)) != len(fields):
            raise Invalid(f"{name}: its fields are not {sorted(expected)}")
        self.cls, self.fields, self.count = cls, fields, len(fields)
        self._sets: dict[int, frozenset[str]] = {}

    def fields_set(self, mask: Any) -> frozenset[str]:
        """The fields a model was given, from a bit mask over the class's field list."""
        found = self._sets.get(mask)
        if found is None:
            if mask.__class__ is not int or not 0 <= mask < 1 << self.count:
                raise Invalid("bad field mask")
            found = frozenset(f for i, f in enumerate(self.fields) if mask >> i & 1)
            self._sets[mask] = found
        return found


class LazyMapping(Mapping[Any, Any]):
    """A read-only dict from the cache whose values are decoded on first access (and kept).

    The file's checksum has vouched for every entry's text; should one still not decode (a file
    forged and resealed by hand), reading it raises CacheEntryError, a KnowledgeError.
    """

    __slots__ = ("_decode", "_done", "_raw")

    def __init__(self, raw: dict[Any, str], decode: Callable[[str], Any]) -> None:
        self._raw = raw
        self._done: dict[Any, Any] = {}
        self._decode = decode

    def __getitem__(self, key: Any) -> Any:
        try:
            return self._done[key]
        except KeyError:
            pass
        text = self._raw[key]  # an unknown key is a KeyError, as from a dict
        try:
            value = self._decode(text)
        except (Invalid, ValueError, TypeError, KeyError, IndexError, RecursionError):
            raise CacheEntryError(
                f"the compiled knowledge cache has a damaged entry {key!r}; delete the "
                "knowledge-*.json files in the advisor's cache folder (or set ADVISOR_NO_CACHE=1)"
            ) from None
        self._done[key] = value
        return value

    def __iter__(self) -> Iterator[Any]:
        return iter(self._raw)

    def __len__(self) -> int:
        return len(self._raw)

    def __contains__(self, key: object) -> bool:
        return key in self._raw

    def __repr__(self) -> str:
        return f"LazyMapping({len(self._raw)} entries, {len(self._done)} decoded)"


class CacheEntryError(KnowledgeError):
    """An entry of a lazily decoded table that does not decode (a one-line CLI error)."""


class _Table:
    """The classes a file names, by kind; shared by the decoders of all its documents."""

    def __init__(self, classes: list[_Class]) -> None:
        self.kinds: dict[str, dict[int, _Class]] = {kind: {} for kind in "menco"}
        for index, klass in enumerate(classes):
            self.kinds[klass.kind][index] = klass
        self.models = self.kinds["m"]
        members: dict[int, dict[Any, Any]] = {}
        for index, klass in self.kinds["e"].items():
            enum_cls: Any = klass.cls
            members[index] = {member.value: member for member in enum_cls}
        for klass in self.models.values():
            declared = _enum_fields(klass.cls, klass.fields) if klass.enum_entries else []
            for pair in _list(klass.enum_entries):
                field, enum_index = _list(pair, 2)
                if not (field.__class__ is int and 0 <= field < klass.count):
                    raise Invalid("a bad enum field")
                if enum_index.__class__ is not int or enum_index not in members:
                    raise Invalid("an enum field of no enum")
                if declared[field] is not classes[enum_index].cls:
                    raise Invalid("an enum field of another enum")
                klass.enums.append((field, members[enum_index]))

    def find(self, obj: dict[str, Any], kind: str) -> _Class:
        index = obj.get("c")
        found = self.kinds[kind].get(index) if index.__class__ is int else None
        if found is None:
            raise Invalid("a class of the wrong kind")
        return found


class _Decoder:
    """json's object hook for one document: called for each JSON object as it closes,
    children first, numbering them as the encoder did."""

    __slots__ = ("memo", "table")

    def __init__(self, table: _Table) -> None:
        self.table = table
        self.memo: list[Any] = []

    def __call__(self, obj: dict[str, Any]) -> Any:
        tag = obj.get("~")
        if tag == "m":
            value = _model(self.table, obj)
        elif tag == "r":
            index = obj.get("i")
            if index.__class__ is not int or not 0 <= index < len(self.memo):
                raise Invalid("a reference to nothing")
            return self.memo[index]
        else:
            build = _BUILDERS.get(tag)
            if build is None:
                raise Invalid("an untagged JSON object")
            value = build(self.table, obj)
        self.memo.append(value)
        return value


def _model(table: _Table, obj: dict[str, Any]) -> Any:
    index = obj.get("c")
    klass = table.models.get(index) if index.__class__ is int else None
    values = obj.get("v")
    if klass is None or values.__class__ is not list or len(values) != klass.count:
        raise Invalid("a model of no known class")
    extra = private = None
    if "x" in obj:
        extra, private = obj["x"]
        if not (extra is None or extra.__class__ is dict) or not (
            private is None or private.__class__ is dict
        ):
            raise Invalid("bad extra or private fields")
    if klass.enums:
        values = list(values)
        for field, members in klass.enums:
            value = values[field]
            if value is not None:
                member = members.get(value)
                if member is None:
                    raise Invalid("not a member of the field's enum")
                values[field] = member
    cls: Any = klass.cls
    model = cls.__new__(cls)
    # what unpickling a model sets, and what model_construct does, without validation
    _set(model, "__dict__", dict(zip(klass.fields, values, strict=True)))
    _set(model, "__pydantic_fields_set__", set(klass.fields_set(obj.get("s"))))
    _set(model, "__pydantic_extra__", extra)
    _set(model, "__pydantic_private__", private)
    return model


def _named_tuple(table: _Table, obj: dict[str, Any]) -> Any:
    klass = table.find(obj, "n")
    return tuple.__new__(klass.cls, _list(obj["v"], klass.count))


def _lazy(table: _Table, obj: dict[str, Any]) -> LazyMapping:
    keys, texts = _list(obj.get("k")), _list(obj.get("v"))
    if len(keys) != len(texts) or not all(
        type(k) is str and type(t) is str for k, t in zip(keys, texts, strict=True)
    ):
        raise Invalid("bad lazy table")

    # one JSON decoder for every entry of the table (making one per entry cost more than the
    # entry); the lock keeps each entry's numbering its own when threads read at once
    hook = _Decoder(table)
    parser = json.JSONDecoder(object_hook=hook)
    lock = threading.Lock()

    def decode(text: str) -> Any:
        with lock:
            hook.memo = []
            return parser.decode(text)

    return LazyMapping(dict(zip(keys, texts, strict=True)), decode)


def _dict(table: _Table, obj: dict[str, Any]) -> dict[Any, Any]:
    flat = _list(obj["v"])
    return dict(zip(flat[::2], flat[1::2], strict=True))


def _object(table: _Table, obj: dict[str, Any], kind: str) -> Any:
    klass = table.find(obj, kind)
    made: Any = object.__new__(klass.cls)
    for name, value in zip(klass.fields, _list(obj["v"], klass.count), strict=True):
        _set(made, name, value)
    return made


_BUILDERS: dict[Any, Callable[[_Table, dict[str, Any]], Any]] = {
    "n": _named_tuple,
    "t": lambda table, o: tuple(_list(o["v"])),
    "e": lambda table, o: table.find(o, "e").cls(o["v"]),
    "d": _dict,
    "f": lambda table, o: frozenset(_list(o["v"])),
    "s": lambda table, o: set(_list(o["v"])),
    "c": lambda table, o: _object(table, o, "c"),
    "o": lambda table, o: _object(table, o, "o"),
    "z": _lazy,
}


def _list(values: Any, count: int | None = None) -> Any:
    if values.__class__ is not list or (count is not None and len(values) != count):
        raise Invalid("bad values")
    return values


def decode(blob: bytes, sources: dict[str, str]) -> Any:
    """The object a cache file describes, if its checksum holds and it was built from exactly
    `sources`; otherwise Invalid."""
    if len(blob) > MAX_BYTES:
        raise Invalid("too large")
    header, newline, body = blob.partition(b"\n")
    expected = MAGIC + b" %d " % FORMAT
    if not newline or not header.startswith(expected):
        raise Invalid("not an advisor knowledge cache of this format")
    if header[len(expected) :] != hashlib.sha256(body).hexdigest().encode():
        raise Invalid("checksum mismatch")
    try:
        classes_line, sources_line, data_line = body.split(b"\n")
        if json.loads(sources_line) != sources:
            raise Invalid("built from other sources")
        classes = json.loads(classes_line)
        if not isinstance(classes, list):
            raise Invalid("no class table")
        hook = _Decoder(_Table([_Class(entry) for entry in classes]))
        paused = gc.isenabled()
        gc.disable()  # thousands of short-lived JSON objects, no cycles to find among them
        try:
            return json.loads(data_line, object_hook=hook)
        finally:
            if paused:
                gc.enable()
    except Invalid:
        raise
    except (ValueError, TypeError, KeyError, IndexError, AttributeError, RecursionError) as error:
        raise Invalid(f"malformed content ({type(error).__name__})") from None
