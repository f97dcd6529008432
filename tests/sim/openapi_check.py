"""Validates JSON answers against the upstream's OpenAPI 3.0 description.

OpenAPI 3.0 schemas are JSON Schema with two differences that matter here:
`nullable: true` (JSON Schema spells it as a type union with null) and
references into #/components/schemas. This module rewrites the components
into plain JSON Schema once, then validates with the jsonschema package.
"""
import os

import jsonschema
import yaml

OPENAPI = os.environ.get("FOCUS_OPENAPI", "")


def _convert(node):
    if isinstance(node, list):
        return [_convert(n) for n in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        return {"$ref": "#/definitions/" + node["$ref"].rsplit("/", 1)[-1]}
    out = {k: _convert(v) for k, v in node.items()
           if k not in ("nullable", "description", "example", "deprecated")}
    if node.get("nullable"):
        return {"anyOf": [out, {"type": "null"}]}
    return out


class OpenApi:
    def __init__(self, path=OPENAPI):
        if not path or not os.path.exists(path):
            raise RuntimeError(f"OpenAPI description not found at '{path}' (set FOCUS_OPENAPI)")
        with open(path) as f:
            self.doc = yaml.safe_load(f)
        self.definitions = {name: _convert(s) for name, s in self.doc["components"]["schemas"].items()}

    def _schema(self, path_template, method, status):
        op = self.doc["paths"][path_template][method.lower()]
        resp = op["responses"][str(status)]
        if "$ref" in resp:
            resp = self.doc["components"]["responses"][resp["$ref"].rsplit("/", 1)[-1]]
        content = resp.get("content", {})
        return _convert(content["application/json"]["schema"]) if "application/json" in content else None

    def validate(self, path_template, method, status, value):
        """Raises jsonschema.ValidationError when `value` is not what the
        reference documents for that operation and status."""
        schema = self._schema(path_template, method, status)
        if schema is None:
            raise AssertionError(f"{method} {path_template} documents no JSON body for {status}")
        schema = dict(schema, definitions=self.definitions)
        jsonschema.validate(value, schema)

    def documents_status(self, path_template, method, status):
        op = self.doc["paths"][path_template][method.lower()]
        return str(status) in op["responses"]
