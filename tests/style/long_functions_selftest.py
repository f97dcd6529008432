#!/usr/bin/env python3
"""The long-function checker on a made-up tree: a 61-line function, a
61-line lambda-holding test case and a 61-line class are written; the first
two are reported, the class and a 60-line function are not. Braces in a raw
string, a string and a comment come first, and must not shift the count."""
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))


def body(lines):
    return "".join(f"  int v{i} = {i};\n" for i in range(lines - 2))


with tempfile.TemporaryDirectory() as root:
    os.makedirs(os.path.join(root, "lib"))
    with open(os.path.join(root, "lib", "a.cpp"), "w") as f:
        f.write('namespace n {\nconst char* text() {  // {{\n  return R"x(}})}})x" "}}";\n}\n')
        f.write('const char* url() { return "http://example.com/{"; }  /* "{ */\n')
        f.write("int too_long(int x) const {\n" + body(61) + "}\n")
        f.write("int just_fits() {\n" + body(60) + "}\n")
        f.write("struct Big {\n" + body(61) + "};\n")
        f.write('TEST_CASE("x") {\n  auto f = [](int a) {\n' + body(59) + "  };\n}\n}\n")
    out = subprocess.run([sys.executable, os.path.join(HERE, "long_functions.py"), root],
                         capture_output=True, text=True)
    reported = [line for line in out.stdout.splitlines() if "lines (limit" in line]
    names = sorted(line.split(": ")[1].split(" is ")[0] for line in reported)
    ok = out.returncode == 1 and names == ["TEST_CASE", "too_long"]
    print(out.stdout, end="")
    print("1 passed, 0 failed" if ok else f"0 passed, 1 failed: reported {names}, exit {out.returncode}")
    sys.exit(0 if ok else 1)
