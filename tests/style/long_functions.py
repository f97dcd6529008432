#!/usr/bin/env python3
"""Lists the C++ functions (test cases included) longer than a limit, by
line count from the opening brace to the closing one, and exits 1 when any
is found that is not a declared data table.

    tests/style/long_functions.py [--limit 60] [ROOT]

It reads the code as text: comments, strings and raw strings are blanked
first, then braces are matched. A brace opens a function body when the text
before it ends like a signature, `)` then qualifiers or a trailing return
type, or a lambda's `](...)`; only the outermost function is measured, so a
lambda inside one counts toward it. Class and namespace braces are not
bodies. It is a heuristic, kept honest by the test that runs it on the tree.
"""
import argparse
import os
import re
import sys

FOLDERS = ("lib", "cli", "daemon", "sim", "bench", "tests")
# Functions that are data: a table of texts, one entry a line.
DATA_TABLES = {"lib/store/schema.cpp:migrations"}

SIGNATURE_END = re.compile(r"\)\s*(const|noexcept|override|final|mutable|->\s*[\w:<>,\s*&]+|\s)*$")
LAMBDA = re.compile(r"\]\s*\([^)]*\)")
NOT_A_BODY = re.compile(r"\b(namespace|class|struct|enum|union)\b[^;{}()]*$|extern \"C\"\s*$")


# Raw strings, comments, strings and character literals, matched in one
# left-to-right pass, so that a "//" inside a string is not a comment and a
# quote inside a comment is not a string.
LITERAL = re.compile(r'R"(\w*)\((?:.|\n)*?\)\1"|/\*(?:.|\n)*?\*/|//[^\n]*|"(?:\\.|[^"\\\n])*"|\'(?:\\.|[^\'\\\n])*\'')


def blank_literals(text):
    """Each literal and comment becomes empty, keeping its line breaks."""
    return LITERAL.sub(lambda m: '""' + "\n" * m.group(0).count("\n") if m.group(0)[0] in "R\"'" else
                       "\n" * m.group(0).count("\n"), text)


def function_name(before):
    m = re.search(r"([\w:~]+)\s*\([^()]*(\([^()]*\)[^()]*)*\)[^()]*$", before)
    return m.group(1).split("::")[-1] if m else "?"


def long_functions(path, limit):
    lines = blank_literals(open(path, encoding="utf-8", errors="replace").read()).split("\n")
    stack = []  # (is_function, first line, name)
    for i, line in enumerate(lines):
        for m in re.finditer(r"[{}]", line):
            if m.group() == "{":
                before = (" ".join(lines[max(0, i - 3):i]) + " " + line[:m.start()]).rstrip()
                body = not NOT_A_BODY.search(before) and bool(SIGNATURE_END.search(before) or LAMBDA.search(before))
                stack.append((body, i, function_name(before) if body else ""))
            elif stack:
                body, start, name = stack.pop()
                if body and not any(b for b, _, _ in stack) and i - start + 1 > limit:
                    yield start + 1, i - start + 1, name


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=60)
    parser.add_argument("root", nargs="?", default=os.path.join(os.path.dirname(__file__), "..", ".."))
    args = parser.parse_args()
    found = 0
    for folder in FOLDERS:
        for d, _, files in os.walk(os.path.join(args.root, folder)):
            for f in sorted(files):
                if not f.endswith((".cpp", ".hpp")):
                    continue
                path = os.path.join(d, f)
                rel = os.path.relpath(path, args.root)
                for line, count, name in long_functions(path, args.limit):
                    if f"{rel}:{name}" in DATA_TABLES:
                        continue
                    print(f"{rel}:{line}: {name} is {count} lines (limit {args.limit})")
                    found += 1
    print(f"{found} function(s) over {args.limit} lines")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
