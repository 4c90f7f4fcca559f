"""How much a model's reading of a face leans on the part of its crop beyond the photo.

    python -m benchmarks.surroundings                      # updates BENCHMARKS.md

RAF-DB's aligned images are tight face crops, so part of the live tool's crop of
such a face lies beyond the photo; the crop fills it by repeating the photo's edge
pixels, as the live tool does at a frame's edge. Training and validation crops share
that fill, so validation accuracy cannot show whether a model reads the face or
leans on the fill. Here the same validation faces (the same detections) are cut with
that part filled otherwise (`faces.photo.OUTSIDE_FILLS`: the photo mirrored, plain
grey, plain white as a studio backdrop, a blur of the repeated edge); each variant is
written as a validation-only .npz outside the repository and scored by tools/eval.py.
A model that reads the face gives about the same answers under every fill.
"""

from __future__ import annotations

import os

import cv2
import numpy as np
from absl import app
from absl import flags

from benchmarks import eval_tool
from benchmarks import report

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

_MODELS = flags.DEFINE_list("models", ["ferjax/pretrained/realtime",
                                       "ferjax/pretrained/realtime_single"],
                            "Exported model folders, each as PATH or LABEL=PATH (the "
                            "table's name for it).")
_RAFDB = flags.DEFINE_string("rafdb_dir", os.path.join(ROOT, "..", "shared", "datasets",
                                                       "rafdb"), "RAF-DB basic folder.")
_FILLS = flags.DEFINE_list("fills", None, "Fills to compare (default: all; 'replicate' "
                           "is the reference).")
_WORK = flags.DEFINE_string("work_dir", "/tmp/ferjax_surroundings", "Where the variants' "
                            ".npz files go (outside the repository).")
_WRITE = flags.DEFINE_bool("write", True, "Update the section in BENCHMARKS.md.")

TITLE = "Faces in other surroundings"


def write_variants(rafdb_dir: str, fills: list[str], work_dir: str) -> tuple[dict, float]:
  """One validation-only RAF-DB .npz per fill: fill -> path; and the mean share of the
  crop square that lies beyond the photo."""
  from ferjax.data import npz  # pylint: disable=g-import-not-at-top
  from ferjax.data import rafdb  # pylint: disable=g-import-not-at-top
  from ferjax.data.images import read_image  # pylint: disable=g-import-not-at-top
  from ferjax.faces import crop as crop_lib  # pylint: disable=g-import-not-at-top
  from ferjax.faces import photo  # pylint: disable=g-import-not-at-top
  images = [i for i in rafdb.find_images(rafdb_dir) if i.split == "validation"]
  finder = photo.PhotoFaces()
  crops = {fill: [] for fill in fills}
  found, beyond = [], []
  for image in images:
    bgr = read_image(image.path, "RGB")[..., ::-1].copy()
    face = finder.find(bgr)
    found.append(face is not None)
    for fill in fills:
      crops[fill].append(photo.crop_found(bgr, face, fill))
    if face is not None:
      cx, cy, side = crop_lib.crop_square(face.box, crop_lib.framing_for(face.detector))
      h, w = bgr.shape[:2]
      inside = (max(0.0, min(w, cx + side / 2) - max(0.0, cx - side / 2))
                * max(0.0, min(h, cy + side / 2) - max(0.0, cy - side / 2)))
      beyond.append(1 - inside / side ** 2)
  os.makedirs(work_dir, exist_ok=True)
  paths = {fill: npz.write(npz.photo_arrays("rafdb", images, np.stack(crops[fill]), found),
                           os.path.join(work_dir, f"rafdb_{fill}.npz"))
           for fill in fills}
  sheet = os.path.join(work_dir, "crops.png")
  cv2.imwrite(sheet, np.concatenate([np.concatenate(crops[f][:12], 1) for f in fills], 0))
  print(f"the first crops of each fill, one row each: {sheet}")
  return paths, float(np.mean(beyond))


def main(argv: list[str]) -> None:
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
  from ferjax.faces import photo  # pylint: disable=g-import-not-at-top
  try:
    fills = list(photo.parse_fills(_FILLS.value or ["all"]))
  except ValueError as e:
    raise app.UsageError(f"--fills: {e}") from None
  if os.path.commonpath([os.path.abspath(_WORK.value), ROOT]) == ROOT:
    raise app.UsageError(f"--work_dir {_WORK.value}: inside the repository; RAF-DB "
                         "pixels stay outside it")
  paths, beyond = write_variants(_RAFDB.value, fills, _WORK.value)
  rows = []
  for entry in _MODELS.value:
    label, _, model = entry.rpartition("=")
    for fill in fills:
      result = eval_tool.run(model, "rafdb", "validation", npz=paths[fill],
                             out=os.path.join(_WORK.value, "eval"))
      rows.append((label or f"`{model}`", fill, result))
      print(model, fill, round(result["accuracy"], 4), flush=True)
  names = list(rows[0][2]["per_class"])
  lines = [report.provenance().rstrip("\n"), "",
           f"RAF-DB validation ({rows[0][2]['num_examples']} faces, eye-aligned crops as "
           f"`python -m ferjax.data.npz --dataset rafdb` makes them); on average "
           f"{100 * beyond:.0f}% of each crop square lies beyond the aligned photo. "
           "*replicate* is how every crop is made (training, evaluation, the live tool); "
           "the other rows fill that part otherwise, the face and its box unchanged. "
           "Cells: recall per class; *most over-read*: the class predicted most often "
           "against its true share.", "",
           "| model | beyond the photo | accuracy | macro-F1 | " + " | ".join(names)
           + " | most over-read |",
           "|---|---|---|---|" + "---|" * len(names) + "---|"]
  for model, fill, result in rows:
    ratio = {c: result["predicted_share"][c] / result["true_share"][c]
             for c in names if result["true_share"][c]}
    worst = max(ratio, key=ratio.get)
    lines.append(f"| {model} | {fill} | {100 * result['accuracy']:.1f}% | "
                 f"{result['macro_f1']:.3f} | "
                 + " | ".join(f"{result['per_class'][c]['recall']:.2f}" for c in names)
                 + f" | {worst} {ratio[worst]:.2f}x |")
  report.publish(TITLE, "\n".join(lines) + "\n", _WRITE.value)


if __name__ == "__main__":
  app.run(main)
