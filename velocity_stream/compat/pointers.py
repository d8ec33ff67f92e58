"""JSON pointers into schemas, turned into what a person looks for: the field names along the
pointer (``attachments.filename``) and the line of the .avsc file where that field is declared."""

from __future__ import annotations

import re

from velocity_stream.compat.issues import JsonValue


def field_names_along(schema: JsonValue, pointer: str) -> tuple[str, ...]:
    """Names of the record fields a pointer passes through, outermost first."""
    names: list[str] = []
    node = schema
    parent_key = ""
    for token in (t.replace("~1", "/").replace("~0", "~") for t in pointer.split("/")[1:]):
        if isinstance(node, dict):
            node = node.get(token)
        elif isinstance(node, list) and token.isdigit() and int(token) < len(node):
            node = node[int(token)]
            if parent_key == "fields" and isinstance(node, dict):
                names.append(str(node.get("name")))
        else:
            break
        parent_key = token
    return tuple(names)


def line_of_field(text: str, names: tuple[str, ...]) -> int | None:
    """1-based line where the innermost field of ``names`` is declared in ``text``.

    Each name is searched after the previous one, so nested fields resolve to the right
    occurrence in the usual top-down layout; None when the outermost name is not found.
    """
    offset, found = 0, None
    for name in names:
        match = re.compile(rf'"name"\s*:\s*"{re.escape(name)}"').search(text, offset)
        if match is None:
            break
        offset, found = match.end(), match.start()
    if found is None:
        return None
    return text.count("\n", 0, found) + 1
