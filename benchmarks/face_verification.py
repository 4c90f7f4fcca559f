"""The "not a face" output on real patches: faces kept, non-faces rejected, by size and kind.

    python -m benchmarks.face_verification --model ferjax/pretrained/realtime_single \
        --npz nonface_tool.npz   # python -m ferjax.data.nonface --scales 14 --nomirror ...
    ... --compare runs/new/export        # another model on the same patches, same run

The patches are `ferjax.data.nonface`'s, mined as the live tool's own detector
sees the photos (`--scales 14 --nomirror`): crops of WIDER FACE indoor photos made
by the live tool's crop (real faces from their detections; the detector's own
false positives at a low score; background and face-margin squares). The
threshold on P(face) is chosen on the `validation` patches (photos of the
trained events held out by a hash of their name): the largest that rejects at
most 1% of the faces of 16 px or more. It is then applied once to the `test`
patches, the measurement events `11--Meeting` and `29--Students_Schoolkids`,
which no training saw.
"""

from __future__ import annotations

import functools
import json
import os

import numpy as np
from absl import app
from absl import flags
from scipy import stats

from benchmarks import report
from ferjax.data import nonface
from ferjax import files
from ferjax import inference
from ferjax.inference import ExpressionClassifier

_MODEL = flags.DEFINE_string("model", "ferjax/pretrained/realtime", "Exported model folder.")
_NPZ = flags.DEFINE_string("npz", None, "Patches from python -m ferjax.data.nonface.",
                           required=True)
_MAX_FACES_REJECTED = flags.DEFINE_float("max_faces_rejected", 0.01, "Share of faces of "
                                         "16 px or more the chosen threshold may reject.")
_COMPARE = flags.DEFINE_list("compare", [], "Other models scored on the same patches, "
                             "each at its own validation threshold (a summary table).")
_WRITE = flags.DEFINE_bool("write", True, "Update the section in BENCHMARKS.md.")
_METADATA = flags.DEFINE_bool("metadata", False, "Store the chosen threshold in the model's "
                              "metadata.json (face_output.threshold), which the live tool "
                              "uses by default.")

TITLE = "Face verification (the model's face output)"
SIZE_BINS = ((10, 16), (16, 24), (24, 48), (48, 10_000))


@functools.lru_cache(maxsize=None)
def face_probabilities(model: str, split: str) -> tuple[np.ndarray, dict[str, np.ndarray]]:
  """P(face) of every patch of `split`, and the patches' arrays (read once a run)."""
  arrays = nonface.load_split(_NPZ.value, split)
  classifier = ExpressionClassifier(model)
  if not classifier.has_face_output:
    raise app.UsageError(f"{model} has no face output; export a model trained with "
                         "face_output=True")
  _, face = classifier.predict_with_face(arrays["image"])
  return face, arrays


def choose_threshold(face: np.ndarray, arrays: dict[str, np.ndarray],
                     max_rejected: float) -> float:
  """The largest threshold that rejects at most `max_rejected` of the faces >= 16 px."""
  faces = np.sort(face[arrays["is_face"] & (arrays["size"] >= 16)])
  allowed = int(np.floor(max_rejected * len(faces)))
  return float(faces[allowed]) if allowed < len(faces) else 0.5


def table(face: np.ndarray, arrays: dict[str, np.ndarray], threshold: float) -> str:
  """Rows: faces by size (share rejected), non-faces by kind (share rejected)."""
  rejected = face < threshold
  lines = ["| patches | count | called not a face |", "|---|---|---|"]
  is_face, size, source = arrays["is_face"], arrays["size"], arrays["source"]
  for low, high in SIZE_BINS:
    rows = is_face & (size >= low) & (size < high)
    label = f"faces {low}-{high} px" if high < 10_000 else f"faces >= {low} px"
    lines.append(f"| {label} | {rows.sum():,} | {rejected[rows].mean():.1%} |")
  rows = is_face & (size >= 16)
  lines.append(f"| **faces >= 16 px** | {rows.sum():,} | **{rejected[rows].mean():.1%}** |")
  for kind in ("detector", "background", "margin", "ferplus_nf"):
    rows = source == kind
    if rows.any():
      lines.append(f"| non-faces: {kind} | {rows.sum():,} | {rejected[rows].mean():.1%} |")
  rows = ~is_face
  lines.append(f"| **all non-faces** | {rows.sum():,} | **{rejected[rows].mean():.1%}** |")
  return "\n".join(lines)


def separation(faces: np.ndarray, non_faces: np.ndarray) -> float:
  """ROC AUC: the chance that a face scores above a non-face (Mann-Whitney U)."""
  return float(stats.mannwhitneyu(faces, non_faces).statistic / (len(faces) * len(non_faces)))


def summary(models: list[str]) -> str:
  """One row per model: its validation threshold and what it rejects at it."""
  lines = ["| model | threshold | faces >= 16 px rejected (validation / test) | "
           "detector false positives rejected | all non-faces rejected | "
           "AUC, faces >= 16 px against detector false positives |",
           "|---|---|---|---|---|---|"]
  for model in models:
    cells = {}
    threshold = None
    for split in ("validation", "test"):
      face, arrays = face_probabilities(model, split)
      if threshold is None:
        threshold = choose_threshold(face, arrays, _MAX_FACES_REJECTED.value)
      rejected = face < threshold
      faces = arrays["is_face"] & (arrays["size"] >= 16)
      detector = arrays["source"] == "detector"
      for name, rows in (("faces", faces), ("detector", detector),
                         ("non-faces", ~arrays["is_face"])):
        cells.setdefault(name, []).append(f"{rejected[rows].mean():.1%}")
      cells.setdefault("auc", []).append(f"{separation(face[faces], face[detector]):.3f}")
    lines.append(f"| `{model}` | {threshold:.3f} | " + " | ".join(
        " / ".join(cells[name]) for name in ("faces", "detector", "non-faces", "auc"))
                 + " |")
  return "\n".join(lines)


def main(argv: list[str]) -> None:
  del argv
  face, arrays = face_probabilities(_MODEL.value, "validation")
  threshold = choose_threshold(face, arrays, _MAX_FACES_REJECTED.value)
  test_face, test_arrays = face_probabilities(_MODEL.value, "test")
  compared = []
  if _COMPARE.value:
    compared = ["", "Every model on the same patches, each at its own threshold chosen "
                "the same way (cells: validation / test):", "",
                summary([_MODEL.value, *_COMPARE.value])]
  body = "\n".join([
      report.provenance().rstrip("\n"),
      f"- Model: `{_MODEL.value}`", "",
      f"Threshold on P(face) chosen on the validation patches (at most "
      f"{_MAX_FACES_REJECTED.value:.0%} of faces >= 16 px rejected): **{threshold:.3f}**. "
      "Sizes are sqrt(w * h) of the labelled box in photo pixels.", "",
      "Validation patches (photos of the trained events, held out by name):", "",
      table(face, arrays, threshold), "",
      "Test patches, `11--Meeting` and `29--Students_Schoolkids` (never trained on), "
      "evaluated once at that threshold:", "",
      table(test_face, test_arrays, threshold), *compared])
  report.publish(TITLE, body, _WRITE.value)
  if _METADATA.value:
    store_threshold(_MODEL.value, threshold)


def store_threshold(model: str, threshold: float) -> None:
  """Writes `threshold` and how it was chosen into the model's metadata.json."""
  path = os.path.join(model, inference.METADATA_FILE)
  metadata = inference.read_metadata(model)
  metadata["face_output"].update(
      threshold=round(threshold, 3),
      threshold_rule=f"largest P(face) threshold that rejects at most "
                     f"{_MAX_FACES_REJECTED.value:.0%} of the faces >= 16 px of the nonface "
                     "validation patches (benchmarks.face_verification)")
  files.atomic_write_text(path, json.dumps(metadata, indent=2, sort_keys=True))
  print(f"{path}: face threshold {threshold:.3f}")


if __name__ == "__main__":
  app.run(main)
