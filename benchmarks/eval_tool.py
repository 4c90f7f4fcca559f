"""Runs `tools/eval.py` as a user would and returns its JSON report.

Benchmarks that quote accuracy go through here, so every figure they write is the
evaluation tool's own.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run(model: str, dataset: str, split: str, *, npz: str | None = None,
        manual_dir: str | None = None, out: str = "/tmp/ferjax_benchmark_eval",
        extra: tuple[str, ...] = ()) -> dict:
  """The report of `tools/eval.py --json` (no TTA) with `extra` flags."""
  command = [sys.executable, os.path.join(REPO, "tools", "eval.py"), "--dataset", dataset,
             "--split", split, "--model", model, "--json", "--out", out, "--overwrite",
             *extra]
  if npz:
    command += ["--npz", npz]
  if manual_dir:
    command += ["--manual_dir", manual_dir]
  result = subprocess.run(command, capture_output=True, text=True, check=False)
  if result.returncode:
    raise RuntimeError(f"{' '.join(command)} failed: {result.stderr.strip()[-500:]}")
  return json.loads(result.stdout[result.stdout.index("{"):])
