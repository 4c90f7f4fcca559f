"""Accuracy against face size: every face shrunk to N px and back, for several models.

    python -m benchmarks.face_size_curve --models ferjax/pretrained/realtime,OTHER_EXPORT \
        --dataset ferplus --npz fer2013.npz          # updates BENCHMARKS.md

    python -m benchmarks.face_size_curve --models ferjax/pretrained/realtime \
        --dataset ferplus --split validation --sizes 48,32,24,20,16,14,12,10 \
        --npz fer2013.npz --metadata --nowrite   # the model's own curve, for live

With --metadata the curve is stored in each model's metadata.json
("face_size_accuracy"), from which the live tool labels faces too small to
read (`ferjax.live.face_quality`); use a validation split for that, since it
sets a threshold.

Each point is one `tools/eval.py --face_px N --json` run (area down-sampling, bilinear
enlargement back to 48 px), so the figures are the evaluation tool's own. Also
reports each class's share of the predictions at the smallest size against its
true share: a model that drifts to one class on small faces shows it there.
"""

from __future__ import annotations

import json
import os

from absl import app
from absl import flags

from benchmarks import eval_tool
from benchmarks import report

_MODELS = flags.DEFINE_list("models", ["ferjax/pretrained/realtime"], "Exported model folders.")
_DATASET = flags.DEFINE_string("dataset", "ferplus", "Dataset for tools/eval.py.")
_SPLIT = flags.DEFINE_string("split", "test", "Split for tools/eval.py.")
_NPZ = flags.DEFINE_string("npz", None, "Prepared .npz for tools/eval.py --npz.")
_MANUAL_DIR = flags.DEFINE_string("manual_dir", None, "tools/eval.py --manual_dir.")
_SIZES = flags.DEFINE_list("sizes", ["48", "32", "24", "16", "12"], "Face sizes in px.")
_WRITE = flags.DEFINE_bool("write", True, "Update the section in BENCHMARKS.md.")
_METADATA = flags.DEFINE_bool("metadata", False, "Store each model's curve in its "
                              "metadata.json (face_size_accuracy).")

TITLE = "Accuracy by face size"


def run_eval(model: str, face_px: int) -> dict:
  """The JSON report of one tools/eval.py run."""
  return eval_tool.run(model, _DATASET.value, _SPLIT.value, npz=_NPZ.value,
                       manual_dir=_MANUAL_DIR.value, out="/tmp/ferjax_face_size",
                       extra=("--face_px", str(face_px if face_px < 48 else 0)))


def _body(results: dict[str, dict[int, dict]], sizes: list[int]) -> str:
  lines = [report.provenance().rstrip("\n"), "",
           f"`{_DATASET.value}` split `{_SPLIT.value}`; each face shrunk to N px "
           "(INTER_AREA) and enlarged back to 48 (INTER_LINEAR), then classified by "
           "`tools/eval.py --face_px N` (no TTA).", "",
           "| model | " + " | ".join(f"{s} px" for s in sizes) + " | drop at 24 / 16 px |",
           "|---|" + "---|" * (len(sizes) + 1)]
  for model, by_size in results.items():
    accuracy = {s: by_size[s]["accuracy"] for s in sizes}
    drops = " / ".join(f"{100 * (accuracy[48] - accuracy[s]):.1f}" for s in (24, 16)
                       if s in accuracy and 48 in accuracy)
    lines.append(f"| `{model}` | " + " | ".join(f"{100 * a:.1f}%" for a in accuracy.values())
                 + f" | {drops} |")
  smallest = 16 if 16 in sizes else min(sizes)
  lines += ["", f"Share of predictions per class at {smallest} px (true share in brackets):",
            "", "| model | " + " | ".join(
                next(iter(results.values()))[smallest]["true_share"]) + " |",
            "|---|" + "---|" * len(next(iter(results.values()))[smallest]["true_share"])]
  for model, by_size in results.items():
    r = by_size[smallest]
    lines.append(f"| `{model}` | " + " | ".join(
        f"{100 * r['predicted_share'][c]:.1f}% ({100 * t:.1f}%)"
        for c, t in r["true_share"].items()) + " |")
  return "\n".join(lines)


def store_in_metadata(model: str, by_size: dict[int, dict]) -> None:
  """Writes the curve into the export's metadata.json (`ferjax.live.face_quality`)."""
  from ferjax import files  # pylint: disable=g-import-not-at-top
  from ferjax.live import face_quality  # pylint: disable=g-import-not-at-top
  path = os.path.join(model, "metadata.json")
  with open(path, encoding="utf-8") as f:
    metadata = json.load(f)
  metadata[face_quality.METADATA_KEY] = {
      "dataset": _DATASET.value, "split": _SPLIT.value,
      "accuracy": {str(s): round(r["accuracy"], 4) for s, r in sorted(by_size.items())}}
  files.atomic_write_text(path, json.dumps(metadata, indent=2, sort_keys=True) + "\n")
  print(f"{path}: faces under {face_quality.reliable_face_px(metadata):.1f} px are too small")


def main(argv: list[str]) -> None:
  del argv
  sizes = sorted((int(s) for s in _SIZES.value), reverse=True)
  results = {}
  for model in _MODELS.value:
    results[model] = {s: run_eval(model, s) for s in sizes}
    print(model, {s: round(r["accuracy"], 4) for s, r in results[model].items()})
    if _METADATA.value:
      store_in_metadata(model, results[model])
  body = _body(results, sizes)
  report.publish(TITLE, body, _WRITE.value)


if __name__ == "__main__":
  app.run(main)
