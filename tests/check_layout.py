#!/usr/bin/env python3
"""Checks the layout of include/mininn (tests/README.md, "Layout"):

- include/mininn holds only mininn.hpp, version.hpp and folders;
- no header is longer than MAX_LINES lines;
- every include of a mininn header runs down the layers (RANKS) or stays in its own folder,
  never up: core < detail < data < layers < losses < optim < io < train < inference < onnx < distributed;
- every header includes core/config.hpp itself (the C++17 check and the instruction-set
  namespace), apart from the folder headers and version.hpp;
- each folder's all.hpp includes every header of the folder, and mininn.hpp every folder's
  all.hpp except the optional (onnx, distributed) and internal (detail) ones.

Prints every violation and exits 1 if there is one.
Usage: tests/check_layout.py [include/mininn]
"""
import os
import re
import sys

MAX_LINES = 450
RANKS = ["core", "detail", "data", "layers", "losses", "optim", "io", "train", "inference", "onnx", "distributed"]
NOT_IN_UMBRELLA = {"detail", "onnx", "distributed"}
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def main(root):
    problems = []
    top = sorted(os.listdir(root))
    for entry in top:
        path = os.path.join(root, entry)
        if os.path.isdir(path):
            if entry not in RANKS:
                problems.append(f"{entry}/: a folder with no place in the layers {RANKS}")
        elif entry not in ("mininn.hpp", "version.hpp"):
            problems.append(f"{entry}: only mininn.hpp, version.hpp and folders belong at the top")
    headers = []
    for folder in sorted(d for d in top if os.path.isdir(os.path.join(root, d))):
        for name in sorted(os.listdir(os.path.join(root, folder))):
            if name.endswith(".hpp"):
                headers.append(f"{folder}/{name}")
            elif not name.endswith(".md"):
                problems.append(f"{folder}/{name}: not a header")
    for rel in headers + ["mininn.hpp"]:
        text = open(os.path.join(root, rel), encoding="utf-8").read()
        lines = text.count("\n")
        if lines > MAX_LINES:
            problems.append(f"{rel}: {lines} lines, more than {MAX_LINES}")
        folder = rel.split("/")[0] if "/" in rel else None
        includes = INCLUDE.findall(text)
        for inc in includes:
            target = os.path.normpath(os.path.join(os.path.dirname(rel), inc))
            if not os.path.isfile(os.path.join(root, target)):
                problems.append(f"{rel}: includes \"{inc}\", which is not a mininn header")
                continue
            if folder is None:
                continue
            tfolder = target.split("/")[0] if "/" in target else None
            if tfolder is None:
                # The umbrella holds every layer below distributed, so only the top one may use it.
                # version.hpp holds only macros and may be included anywhere.
                if not (target == "version.hpp" or (target == "mininn.hpp" and folder == RANKS[-1])):
                    problems.append(f"{rel}: includes the top-level {target}")
            elif tfolder != folder and RANKS.index(tfolder) > RANKS.index(folder):
                problems.append(f"{rel}: includes {target}, which is above it ({tfolder} over {folder})")
        aggregate = rel == "mininn.hpp" or rel.endswith("/all.hpp")
        if not aggregate and not any(
                os.path.normpath(os.path.join(os.path.dirname(rel), i)) == "core/config.hpp" for i in includes) \
                and rel != "core/config.hpp":
            problems.append(f"{rel}: does not include core/config.hpp itself")
        if rel.endswith("/all.hpp"):
            mine = sorted(h.split("/")[1] for h in headers if h.startswith(folder + "/") and not h.endswith("/all.hpp"))
            missing = [h for h in mine if h not in includes]
            if missing:
                problems.append(f"{rel}: does not include {', '.join(missing)}")
        if rel == "mininn.hpp":
            want = [f"{d}/all.hpp" for d in top if os.path.isdir(os.path.join(root, d)) and d not in NOT_IN_UMBRELLA]
            missing = [w for w in want if w not in includes]
            if missing:
                problems.append(f"mininn.hpp: does not include {', '.join(missing)}")
    for p in problems:
        print("layout:", p)
    print(f"layout: {len(headers)} headers in {len(set(h.split('/')[0] for h in headers))} folders, "
          f"{len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    here = os.path.dirname(os.path.abspath(__file__))
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "..", "include", "mininn")))
