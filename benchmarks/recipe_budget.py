"""Accuracy per CPU-minute: the arms of experiments/realtime_budget.py, trained and scored.

    python -m benchmarks.recipe_budget --npz fer2013.npz,rafdb.npz --root runs/budget
    python -m benchmarks.recipe_budget ... --arms resnet,resnet_uniform --nowrite

Each arm is trained with `python -m ferjax.train` in `--root/ARM` (a finished arm is
not trained again: its times are kept in `budget.json`; an interrupted one starts
over, so every time is one uninterrupted run), exported, and scored by
`tools/eval.py` on the FER+ and RAF-DB validation splits. The table reports the
training wall time and the CPU time the training process used (user + system,
both cores), so arms that share a busy machine remain comparable, plus the recall
of the two rare classes that class balancing is for.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
import time

from absl import app
from absl import flags

from benchmarks import eval_tool
from benchmarks import report
from ferjax.train import config_lib

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RECIPE = os.path.join(REPO, "experiments", "realtime_budget.py")
TITLE = "Accuracy per CPU-minute"
VALIDATION = (("ferplus", "FER+"), ("rafdb", "RAF-DB"))
RARE = ("disgust", "fear")

_ARMS = flags.DEFINE_list("arms", None, "Arms of experiments/realtime_budget.py (default: all).")
_NPZ = flags.DEFINE_list("npz", None, "Prepared FER2013 (with FER+ votes) and RAF-DB .npz "
                         "files, in that order.", required=True)
_ROOT = flags.DEFINE_string("root", None, "Folder for the arms' workdirs.", required=True)
_WRITE = flags.DEFINE_bool("write", True, "Update the section in BENCHMARKS.md.")


def _children_cpu_seconds() -> float:
  usage = resource.getrusage(resource.RUSAGE_CHILDREN)
  return usage.ru_utime + usage.ru_stime


def train(arm: str, workdir: str) -> dict:
  """Trains one arm (once) and returns its wall and CPU seconds."""
  times_path = os.path.join(workdir, "budget.json")
  if os.path.exists(times_path):
    with open(times_path, encoding="utf-8") as f:
      return json.load(f)
  if os.path.exists(workdir):  # An interrupted arm: its time so far is unknown.
    print(f"{workdir}: interrupted earlier; training this arm again from the start")
    shutil.rmtree(workdir)
  wall, cpu = time.perf_counter(), _children_cpu_seconds()
  subprocess.run([sys.executable, "-m", "ferjax.train", "--config", f"{RECIPE}:{arm}",
                  "--workdir", workdir, f"--config.npz_path={','.join(_NPZ.value)}"],
                 check=True, cwd=REPO)
  times = {"wall_seconds": time.perf_counter() - wall,
           "cpu_seconds": _children_cpu_seconds() - cpu}
  with open(times_path, "w", encoding="utf-8") as f:
    json.dump(times, f)
  return times


def export(workdir: str) -> str:
  """The arm's best checkpoint as an exported model folder."""
  out = os.path.join(workdir, "export")
  if not os.path.exists(os.path.join(out, "metadata.json")):
    subprocess.run([sys.executable, "-m", "ferjax.train.export", "--workdir", workdir,
                    "--out", out], check=True, cwd=REPO, capture_output=True)
  return out


def measure(arm: str) -> dict:
  workdir = os.path.join(_ROOT.value, arm)
  times = train(arm, workdir)
  model = export(workdir)
  with open(os.path.join(model, "metadata.json"), encoding="utf-8") as f:
    metadata = json.load(f)
  with open(os.path.join(workdir, "config.json"), encoding="utf-8") as f:
    config = json.load(f)
  reports = {name: eval_tool.run(model, name, "validation", npz=npz,
                                 out=os.path.join(model, "eval"))
             for (name, _), npz in zip(VALIDATION, _NPZ.value)}
  return {"arm": arm, "epochs": config["num_epochs"], "params": metadata.get("num_params"),
          **times, "reports": reports}


def _body(results: list[dict]) -> str:
  columns = (["arm", "parameters", "epochs", "wall min", "CPU min"] +
             [f"{label} validation" for _, label in VALIDATION] + ["mean"] +
             [f"{c} recall ({label})" for c in RARE for _, label in VALIDATION])
  lines = [report.provenance().rstrip("\n"), "",
           "Arms of `experiments/realtime_budget.py` (the real-time recipe with one change, "
           "about the same training time each); accuracy from `tools/eval.py` on the "
           "validation splits (no TTA). CPU minutes: user + system time of the training "
           "process on both cores.", "",
           "| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
  for r in results:
    accuracy = [r["reports"][name]["accuracy"] for name, _ in VALIDATION]
    recalls = [r["reports"][name]["per_class"][c]["recall"] for c in RARE
               for name, _ in VALIDATION]
    params = f"{r['params']:,}" if r["params"] else "n/a"
    lines.append(
        f"| {r['arm']} | {params} | {r['epochs']:g} | {r['wall_seconds'] / 60:.1f} | "
        f"{r['cpu_seconds'] / 60:.1f} | " + " | ".join(f"{100 * a:.2f}%" for a in accuracy) +
        f" | {100 * sum(accuracy) / len(accuracy):.2f}% | " +
        " | ".join(f"{100 * x:.1f}%" for x in recalls) + " |")
  return "\n".join(lines)


def main(argv: list[str]) -> None:
  del argv
  arms = _ARMS.value or list(config_lib.load_module(RECIPE).ARM_EPOCHS)
  results = []
  for arm in arms:
    results.append(measure(arm))
    r = results[-1]
    print(f"{arm}: " + ", ".join(f"{name} {100 * rep['accuracy']:.2f}%"
                                 for name, rep in r["reports"].items()) +
          f" ({r['cpu_seconds'] / 60:.1f} CPU min)", flush=True)
  body = _body(results)
  report.publish(TITLE, body, _WRITE.value)


if __name__ == "__main__":
  app.run(main)
