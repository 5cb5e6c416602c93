"""Typed records as JSON: a dataclass's fields are its JSON keys. `to_json` and `from_json` convert, `schema`
gives the JSON Schema the fields imply, and `problems` checks a document against it (its keywords only).

A field's metadata may say:
- FLAT: its keys sit in the enclosing object: a record's own, or an open dict's (the keys no field claims);
- OPTIONAL: left out of the JSON when it has its default (files older than the field have no such key);
- EMPTY_IS_NONE: written {} when None (a key that has always been there, empty when there is nothing);
- const(value): the one value the key may have (a format string).
"""

from __future__ import annotations

import functools
import types
import typing
from dataclasses import MISSING, fields, is_dataclass

FLAT = {"flat": True}
OPTIONAL = {"optional": True}
EMPTY_IS_NONE = {"empty_is_none": True}
JSON_TYPES = {int: "integer", float: "number", str: "string", bool: "boolean", type(None): "null"}


def const(value: str) -> dict:
    return {"const": value}


@functools.cache
def hints(kind: type) -> dict[str, typing.Any]:
    return typing.get_type_hints(kind)


def omitted(field, value) -> bool:
    if not field.metadata.get("optional"):
        return False
    default = field.default_factory() if field.default_factory is not MISSING else field.default
    return value == default


def to_json(record) -> dict:
    """The record as a JSON object, its keys in the order of its fields."""
    shown: dict = {}
    for field in fields(record):
        value = getattr(record, field.name)
        if omitted(field, value):
            continue
        if field.metadata.get("flat"):
            shown |= plain(value)
        elif value is None and field.metadata.get("empty_is_none"):
            shown[field.name] = {}
        else:
            shown[field.name] = plain(value)
    return shown


def plain(value):
    if is_dataclass(value):
        return value.to_json() if hasattr(value, "to_json") else to_json(value)
    if isinstance(value, list | tuple):
        return [plain(each) for each in value]
    if isinstance(value, dict):
        return {key: plain(each) for key, each in value.items()}
    return value


@functools.cache
def claimed(kind: type) -> frozenset[str]:
    """The JSON keys a record's fields claim, its flat records' too (an open dict claims none)."""
    names: set[str] = set()
    for field in fields(kind):
        inner = hints(kind)[field.name]
        if not field.metadata.get("flat"):
            names.add(field.name)
        elif is_dataclass(inner):
            names |= claimed(inner)
    return frozenset(names)


def from_json(kind: type, data: dict):
    """The record of a JSON object; a key it lacks takes the field's default (TypeError for a required one)."""
    values = {}
    for field in fields(kind):
        inner = hints(kind)[field.name]
        if field.metadata.get("flat"):
            values[field.name] = (from_json(inner, data) if is_dataclass(inner) else
                                  {key: value for key, value in data.items() if key not in claimed(kind)})
        elif field.name in data:
            raw = data[field.name]
            values[field.name] = None if raw == {} and field.metadata.get("empty_is_none") else value_of(inner, raw)
    return kind(**values)


def value_of(kind, raw):
    """A JSON value as the annotation `kind` has it: records and lists and dicts of them made again."""
    origin, arguments = typing.get_origin(kind), typing.get_args(kind)
    if origin in (types.UnionType, typing.Union):
        return None if raw is None else value_of(next(a for a in arguments if a is not type(None)), raw)
    if origin is list and arguments and isinstance(raw, list):
        return [value_of(arguments[0], each) for each in raw]
    if origin is dict and arguments and isinstance(raw, dict):
        return {key: value_of(arguments[1], each) for key, each in raw.items()}
    if is_dataclass(kind) and isinstance(raw, dict):
        return from_json(kind, raw)
    return raw


def schema(*roots: type, title: str = "") -> dict:
    """The JSON Schema (draft 2020-12) of documents that are one of `roots`, each record a definition."""
    definitions: dict[str, dict] = {}
    choices = [schema_of(root, definitions) for root in roots]
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "title": title,
            **({"oneOf": choices} if len(choices) > 1 else choices[0]), "$defs": dict(sorted(definitions.items()))}


def schema_of(kind, definitions: dict[str, dict]) -> dict:
    origin, arguments = typing.get_origin(kind), typing.get_args(kind)
    if kind in JSON_TYPES:
        return {"type": JSON_TYPES[kind]}
    if origin in (types.UnionType, typing.Union):
        return {"anyOf": [schema_of(argument, definitions) for argument in arguments]}
    if kind is list or origin is list:
        return {"type": "array", **({"items": schema_of(arguments[0], definitions)} if arguments else {})}
    if kind is dict or origin is dict:
        return {"type": "object", **({"additionalProperties": schema_of(arguments[1], definitions)}
                                     if arguments else {})}
    if is_dataclass(kind):
        if kind.__name__ not in definitions:
            definitions[kind.__name__] = {}  # a record that holds itself refers to its own definition
            definitions[kind.__name__] = object_schema(kind, definitions)
        return {"$ref": f"#/$defs/{kind.__name__}"}
    return {}


def object_schema(kind: type, definitions: dict[str, dict]) -> dict:
    """A record's object: its fields' properties, the required ones, and whether other keys may be there."""
    said = " ".join((kind.__doc__ or "").split())
    described: dict = {"type": "object", "properties": {}, "required": []}
    described |= {"description": said} if not said.startswith(f"{kind.__name__}(") else {}  # not dataclass's
    closed = True
    for field in fields(kind):
        inner = hints(kind)[field.name]
        if field.metadata.get("flat"):
            if is_dataclass(inner):
                flat = object_schema(inner, definitions)
                described["properties"] |= flat["properties"]
                described["required"] += flat["required"]
                closed &= flat.get("additionalProperties", True) is False
            else:
                closed = False
            continue
        shown = {"const": field.metadata["const"]} if "const" in field.metadata else schema_of(inner, definitions)
        if field.metadata.get("empty_is_none"):
            shown = {"anyOf": [schema_of(next(a for a in typing.get_args(inner) if a is not type(None)),
                                         definitions), {"type": "object", "maxProperties": 0}]}
        described["properties"][field.name] = shown
        if field.default is MISSING and field.default_factory is MISSING and not field.metadata.get("optional"):
            described["required"].append(field.name)
    return described | ({"additionalProperties": False} if closed else {})


def problems(value, shape: dict, root: dict | None = None, where: str = "$") -> list[str]:
    """What in `value` the schema `shape` (as `schema` writes them) does not allow, each with where it is."""
    root = root if root is not None else shape
    if "$ref" in shape:
        return problems(value, root["$defs"][shape["$ref"].rsplit("/", 1)[1]], root, where)
    if "anyOf" in shape or "oneOf" in shape:
        options = [problems(value, option, root, where) for option in shape.get("anyOf", shape.get("oneOf"))]
        return [] if any(not found for found in options) else min(options, key=len)
    if "const" in shape:
        return [] if value == shape["const"] else [f"{where}: {value!r} is not {shape['const']!r}"]
    if "type" in shape and not of_type(value, shape["type"]):
        return [f"{where}: {type(value).__name__} {value!r:.40} is not of type {shape['type']}"]
    if isinstance(value, list):
        return [found for at, each in enumerate(value) for found in
                problems(each, shape.get("items", {}), root, f"{where}[{at}]")]
    if isinstance(value, dict):
        return object_problems(value, shape, root, where)
    return []


def object_problems(value: dict, shape: dict, root: dict, where: str) -> list[str]:
    found = [f"{where}: no {key!r}" for key in shape.get("required", []) if key not in value]
    if len(value) > shape.get("maxProperties", len(value)):
        found.append(f"{where}: more than {shape['maxProperties']} keys")
    known = shape.get("properties", {})
    others = shape.get("additionalProperties", True)
    for key, each in value.items():
        if key in known:
            found += problems(each, known[key], root, f"{where}.{key}")
        elif others is False:
            found.append(f"{where}: {key!r} is not a key of this object")
        elif isinstance(others, dict):
            found += problems(each, others, root, f"{where}.{key}")
    return found


def of_type(value, name: str) -> bool:
    if name == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if name == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    return isinstance(value, {"string": str, "boolean": bool, "null": type(None), "array": list,
                              "object": dict}[name])
