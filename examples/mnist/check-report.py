#!/usr/bin/env python3
"""Recomputes the classification report from the mnist example's --predictions CSV with
scikit-learn and compares it with the report the example printed.

    check-report.py predictions.csv example-output.txt [digits]
Exit 0 when the two texts are identical."""
import csv
import sys

from sklearn.metrics import classification_report

pred_csv, output, digits = sys.argv[1], sys.argv[2], int(sys.argv[3]) if len(sys.argv) > 3 else 2
rows = list(csv.DictReader(open(pred_csv)))
y_true = [int(r["true"]) for r in rows]
y_pred = [int(r["predicted"]) for r in rows]
expected = classification_report(y_true, y_pred, digits=digits)
text = open(output).read()
start = text.index(expected.splitlines()[0])
printed = text[start:start + len(expected)]
if printed == expected:
    print(f"identical: scikit-learn's report of {len(rows)} predictions matches the printed one")
    sys.exit(0)
print("DIFFERENT\n--- scikit-learn ---\n" + expected + "--- printed ---\n" + printed)
sys.exit(1)
