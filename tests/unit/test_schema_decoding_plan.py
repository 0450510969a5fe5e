"""compile_schema: which schemas become a segment plan, and what the plan says."""

import pytest

from alignment.prompts import decision_schema
from assistant.backbones.llamacpp.schema_plan import (
    Fixed,
    FreeString,
    Pick,
    UnsupportedSchema,
    compile_schema,
)


def test_decision_schema_plan() -> None:
    plan = compile_schema(decision_schema(3))
    assert plan == [
        Fixed('{"reasoning": "'),
        FreeString(min_length=1, max_length=300),
        Fixed('", "choice": '),
        Pick(('"A"', '"B"', '"C"'), follow="}"),
    ]


def test_integer_range_and_follow_character() -> None:
    schema = {
        "type": "object",
        "properties": {"score": {"type": "integer", "minimum": 0, "maximum": 10}, "ok": {"type": "boolean"}},
    }
    plan = compile_schema(schema)
    assert plan[1] == Pick(tuple(str(i) for i in range(11)), follow=",")
    assert plan[2] == Fixed(' "ok": ')
    assert plan[3] == Pick(("true", "false"), follow="}")


def test_exclusive_bounds_and_multiple_of() -> None:
    plan = compile_schema({"type": "integer", "exclusiveMinimum": 0, "maximum": 10, "multipleOf": 5})
    assert plan == [Pick(("5", "10"))]


def test_number_grid_keeps_inside_bounds() -> None:
    (pick,) = compile_schema({"type": "number", "minimum": 0, "maximum": 1})
    assert isinstance(pick, Pick)
    assert pick.literals[0] == "0" and pick.literals[-1] == "1" and "0.5" in pick.literals
    assert len(pick.literals) == 101
    (wide,) = compile_schema({"type": "number", "minimum": -40, "maximum": 40})
    assert isinstance(wide, Pick) and "-40" in wide.literals and "12.5" in wide.literals
    (wider,) = compile_schema({"type": "number", "minimum": -50, "maximum": 50})
    assert isinstance(wider, Pick) and "12" in wider.literals and "12.5" not in wider.literals


def test_fixed_arrays_refs_const_and_single_enum() -> None:
    schema = {
        "$defs": {"Item": {"type": "object", "properties": {"k": {"const": "x"}, "v": {"enum": ["only"]}}}},
        "type": "array",
        "items": {"$ref": "#/$defs/Item"},
        "minItems": 2,
        "maxItems": 2,
    }
    assert compile_schema(schema) == [Fixed('[{"k": "x", "v": "only"}, {"k": "x", "v": "only"}]')]


@pytest.mark.parametrize(
    ("schema", "reason"),
    [
        ({"type": "string", "pattern": "^a+$"}, "^string with pattern$"),
        ({"type": "string", "format": "date"}, "^string with format$"),
        ({"type": "integer"}, "^a number without both a minimum and a maximum$"),
        (
            {"type": "integer", "minimum": 0, "maximum": 10**6},
            r"^integer range 0\.0\.\.1000000\.0 is too wide",
        ),
        (
            {"type": "array", "items": {"type": "string"}, "minItems": 1},
            "^an array whose length is not fixed",
        ),
        ({"anyOf": [{"type": "string"}, {"type": "integer"}]}, "^a schema without a type$"),
        ({"type": ["string", "null"]}, "^a union of types$"),
        (
            {"type": "object", "properties": {}, "required": ["missing"]},
            "^required keys without a schema: missing$",
        ),
        ({"type": "object", "minProperties": 1}, "^object with minProperties$"),
        (
            {"$ref": "https://example.com/schema.json"},
            r"^non-local \$ref 'https://example\.com/schema\.json'$",
        ),
        ({"$defs": {"A": {"$ref": "#/$defs/A"}}, "$ref": "#/$defs/A"}, r"^\$ref cycle$"),
        (
            {
                "$defs": {"N": {"type": "object", "properties": {"n": {"$ref": "#/$defs/N"}}}},
                "$ref": "#/$defs/N",
            },
            r"^schema nested too deeply \(or recursive\)$",
        ),
        ({"description": "no type at all"}, "^a schema without a type$"),
    ],
)
def test_unsupported_shapes_are_refused(schema: dict, reason: str) -> None:
    with pytest.raises(UnsupportedSchema, match=reason):
        compile_schema(schema)
