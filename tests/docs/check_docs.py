#!/usr/bin/env python3
"""Compiles every C++ code sample of the project's Markdown files (README.md and the guides),
so that a sample that no longer compiles fails the suite instead of misleading a reader.

A ```cpp block with a main() is a whole program and is compiled alone. Any other block is a
fragment: its #include lines go to the top; the declarations it opens with (up to its last
line that is "}" or "};" at the left margin) go to namespace scope, and the statements after
them into a function; each fragment has a namespace of its own, and all of one file's
fragments are compiled as one unit after tests/docs/prelude.hpp, which declares the names the
samples take as given (d, rng, net, X, y, ...). #line directives make the compiler's messages
point at the Markdown file and line. A file whose samples include mininn/distributed/ is
compiled only when MPI flags are given.

Usage: check_docs.py --cxx g++ --flags "-std=c++17 ..." [--mpi-flags "-isystem ..."] ROOT
Prints one line per file and exits 1 if any sample fails to compile.
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile

FENCE = re.compile(r"^```(\S*)\s*$")


def markdown_files(root):
    out = []
    for base, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and not d.startswith("build"))
        out += [os.path.join(base, f) for f in sorted(files) if f.endswith(".md")]
    return out


def samples(path):
    """(first line number, lines) of each ```cpp block."""
    blocks, cur, lang, start = [], None, None, 0
    for i, line in enumerate(open(path, encoding="utf-8").read().split("\n"), 1):
        m = FENCE.match(line)
        if cur is None and m:
            cur, lang, start = [], m.group(1), i + 1
        elif cur is not None and line.startswith("```"):
            if lang in ("cpp", "c++"):
                blocks.append((start, cur))
            cur = None
        elif cur is not None:
            cur.append(line)
    return blocks


def unit_for_fragments(path, blocks):
    heads, parts = [], []
    for k, (start, lines) in enumerate(blocks):
        body = []
        for j, line in enumerate(lines):
            if line.startswith("#include"):
                heads.append(f'#line {start + j} "{path}"\n{line}')
                body.append("")
            else:
                body.append(line)
        split = 0
        for j, line in enumerate(body):
            if line in ("}", "};"):
                split = j + 1
        top, stmts = body[:split], body[split:]
        parts.append(f"namespace doc::sample_{k} {{\n#line {start} \"{path}\"\n" + "\n".join(top) +
                     f"\n[[maybe_unused]] void run()\n{{\n#line {start + split} \"{path}\"\n" + "\n".join(stmts) +
                     "\n}\n}\n")
    return '#include "prelude.hpp"\n' + "\n".join(heads) + "\n" + "\n".join(parts)


def compile_unit(args, text, extra):
    with tempfile.NamedTemporaryFile("w", suffix=".cpp", delete=False) as f:
        f.write(text)
        name = f.name
    try:
        cmd = [args.cxx] + args.flags.split() + extra + ["-fsyntax-only", "-I", os.path.dirname(__file__), name]
        r = subprocess.run(cmd, capture_output=True, text=True)
        return r.returncode, r.stderr
    finally:
        os.unlink(name)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cxx", default="g++")
    ap.add_argument("--flags", default="-std=c++17")
    ap.add_argument("--mpi-flags", default=None)
    ap.add_argument("root")
    args = ap.parse_args()
    failed, count = 0, 0
    for md in markdown_files(args.root):
        blocks = samples(md)
        if not blocks:
            continue
        rel = os.path.relpath(md, args.root)
        extra = []
        if any("mininn/distributed/" in l for _, b in blocks for l in b):
            if args.mpi_flags is None:
                print(f"docs: {rel}: {len(blocks)} sample(s) skipped (they need MPI, which this build has not)")
                continue
            extra = args.mpi_flags.split()
        whole = [b for b in blocks if any(re.search(r"\bint main\s*\(", l) for l in b[1])]
        units = [f'#line {s} "{md}"\n' + "\n".join(lines) for s, lines in whole]
        fragments = [b for b in blocks if b not in whole]
        if fragments:
            units.append(unit_for_fragments(md, fragments))
        errors = ""
        for u in units:
            rc, err = compile_unit(args, u, extra)
            if rc != 0:
                errors += err
        count += len(blocks)
        if errors:
            failed += 1
            print(f"docs: {rel}: FAILED to compile its samples:\n{errors}")
        else:
            print(f"docs: {rel}: {len(blocks)} sample(s) compile")
    print(f"docs: {count} samples, {failed} file(s) failing")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
