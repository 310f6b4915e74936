#!/usr/bin/env python3
"""Checks schemas/plan.schema.json against the plans planrun accepts and rejects.

Every plans/examples/**/*.yaml must validate. Every tests/corpus/bad_plans/*.yaml
whose first line is "# schema: invalid" must not: those are the bad plans a
schema can catch (wrong types, unknown or missing keys, bad identifiers...);
the others need planrun itself (duplicate ids, cycles, YAML limits).

YAML is read with the YAML 1.2 core schema, as editors' YAML language servers
read it (so `no` is a string and `007` is the integer 7).

Usage: check_schema.py SOURCE_DIR. Prints one line per file, then
"N passed, M failed"; exits 1 when any file failed.
"""
import glob
import json
import os
import re
import sys

import jsonschema
import yaml

MARKER = "# schema: invalid"


class Yaml12Loader(yaml.SafeLoader):
    """PyYAML's safe loader with the scalar types of the YAML 1.2 core schema."""


Yaml12Loader.yaml_implicit_resolvers = {}
for _tag, _pattern, _first in [
    ("bool", r"^(?:true|True|TRUE|false|False|FALSE)$", "tTfF"),
    ("int", r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$", "-+0123456789"),
    (
        "float",
        r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
        r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$",
        "-+0123456789.",
    ),
    ("null", r"^(?:~|null|Null|NULL|)$", ["~", "n", "N", ""]),
]:
    Yaml12Loader.add_implicit_resolver(
        "tag:yaml.org,2002:" + _tag, re.compile(_pattern), list(_first)
    )


def _construct_int(loader, node):
    text = loader.construct_scalar(node)
    if text.startswith("0o"):
        return int(text[2:], 8)
    if text.startswith("0x"):
        return int(text[2:], 16)
    return int(text)


def _construct_map(loader, node):
    # Keys stay text as written, as in planrun and in JSON: `true:` is "true".
    return {
        key.value if isinstance(key, yaml.ScalarNode) else loader.construct_object(key):
        loader.construct_object(value, deep=True)
        for key, value in node.value
    }


Yaml12Loader.add_constructor("tag:yaml.org,2002:int", _construct_int)
Yaml12Loader.add_constructor("tag:yaml.org,2002:map", _construct_map)


def first_error(validator, document):
    """The most relevant schema error for `document` as one line, or None."""
    error = jsonschema.exceptions.best_match(validator.iter_errors(document))
    if error is None:
        return None
    where = "/".join(str(p) for p in error.absolute_path) or "(root)"
    return f"{where}: {error.message}"


def check(path, validator, want_valid):
    """Validates one file; returns (passed, line to print)."""
    with open(path, encoding="utf-8") as f:
        text = f.read()
    try:
        document = yaml.load(text, Loader=Yaml12Loader)
    except yaml.YAMLError as e:
        return False, f"FAIL {path}: not loadable YAML: {str(e).splitlines()[0]}"
    error = first_error(validator, document)
    if want_valid and error is None:
        return True, f"ok   {path}: valid"
    if not want_valid and error is not None:
        return True, f"ok   {path}: rejected: {error}"
    if want_valid:
        return False, f"FAIL {path}: expected valid, got: {error}"
    return False, f"FAIL {path}: expected the schema to reject it, but it validates"


def main(argv):
    if len(argv) != 2:
        print("usage: check_schema.py SOURCE_DIR", file=sys.stderr)
        return 2
    root = argv[1]
    with open(os.path.join(root, "schemas", "plan.schema.json"), encoding="utf-8") as f:
        schema = json.load(f)
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)

    cases = [(p, True) for p in sorted(glob.glob(os.path.join(root, "plans/examples/**/*.yaml"), recursive=True))]
    for path in sorted(glob.glob(os.path.join(root, "tests/corpus/bad_plans/*.yaml"))):
        with open(path, encoding="utf-8") as f:
            if f.readline().rstrip("\n") == MARKER:
                cases.append((path, False))
    if not any(want for _, want in cases) or all(want for _, want in cases):
        print("FAIL: found no example plans or no '# schema: invalid' bad plans under " + root)
        return 1

    passed = failed = 0
    for path, want_valid in cases:
        ok, line = check(path, validator, want_valid)
        print(line.replace(root.rstrip("/") + "/", "", 1))
        passed += ok
        failed += not ok
    print(f"{passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
