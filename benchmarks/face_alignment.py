"""Eye-level alignment before the crop: does it help on tilted heads, and cost upright ones?

    python -m benchmarks.face_alignment --npz fer2013.npz,rafdb.npz   # updates BENCHMARKS.md

Each validation face (FER+ PublicTest, RAF-DB held-out) is enlarged 4x, set on a
canvas whose border repeats the face's edges, and the canvas rotated by R degrees
(every other face the other way). The live tool's detector then finds the face and
the same detection is cropped twice: unrotated (`crop_face(..., roll_degrees=0)`),
and turned upright by the angle of its eye landmarks (`crop_face`'s default). Both
crops are classified by the exported model (calibrated, no TTA). R = 0 measures what
alignment costs on faces that are already upright (landmark noise); larger R what
it wins on tilted heads. Faces the detector misses count as errors for both.
"""

from __future__ import annotations

import cv2
import numpy as np
from absl import app
from absl import flags

from benchmarks import report

_MODEL = flags.DEFINE_string("model", "ferjax/pretrained/realtime", "Exported model folder.")
_NPZ = flags.DEFINE_list("npz", None, "Prepared FER2013 (with FER+ votes) and RAF-DB .npz "
                         "files, in that order.", required=True)
_ROLLS = flags.DEFINE_list("rolls", ["0", "15", "30"], "Head roll in degrees.")
_LIMIT = flags.DEFINE_integer("limit", 0, "Faces per dataset (0: all).")
_WRITE = flags.DEFINE_bool("write", True, "Update the section in BENCHMARKS.md.")

TITLE = "Face alignment"
DATASETS = (("ferplus", "FER+"), ("rafdb", "RAF-DB"))
SCALE = 4


def tilted_canvas(face: np.ndarray, degrees: float) -> np.ndarray:
  """The face enlarged SCALE times on a canvas twice its size, rotated by `degrees`."""
  big = cv2.resize(face, None, fx=SCALE, fy=SCALE, interpolation=cv2.INTER_CUBIC)
  pad = big.shape[0] // 2
  canvas = cv2.copyMakeBorder(big, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
  centre = (canvas.shape[1] - 1) / 2
  matrix = cv2.getRotationMatrix2D((centre, centre), degrees, 1.0)
  canvas = cv2.warpAffine(canvas, matrix, canvas.shape[::-1], flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_REPLICATE)
  return cv2.cvtColor(canvas, cv2.COLOR_GRAY2BGR)


def validation_faces(dataset: str, npz: str) -> tuple[np.ndarray, np.ndarray]:
  """(n, 48, 48) faces and labels of `dataset`'s validation split (the first --limit)."""
  from ferjax.data import loader  # pylint: disable=g-import-not-at-top
  arrays = loader.load_arrays(dataset, "validation", npz_path=npz)
  limit = _LIMIT.value or None
  return arrays["image"][:limit, ..., 0], arrays["label"][:limit]


def measure(images: np.ndarray, labels: np.ndarray, roll: float, detector,
            classifier) -> dict:
  """Accuracy of plain and aligned crops of `images` rolled by `roll`."""
  from ferjax import faces  # pylint: disable=g-import-not-at-top
  plain, aligned, found, rolls = [], [], [], []
  for i, face in enumerate(images):
    canvas = tilted_canvas(face, roll if i % 2 else -roll)
    detection = faces.largest_face(detector.detect(canvas))
    found.append(detection is not None)
    if detection is None:
      continue
    eye_roll = faces.eye_roll(detection)
    rolls.append(abs(eye_roll))
    plain.append(faces.crop_face(canvas, detection, roll_degrees=0))
    aligned.append(faces.crop_face(canvas, detection, roll_degrees=eye_roll))
  found = np.asarray(found)
  truth = labels[found]

  def accuracy(crops):
    predictions = classifier.predict(np.stack(crops)).argmax(-1)
    return float(np.sum(predictions == truth) / len(labels))
  return {"faces": len(labels), "found": int(found.sum()), "plain": accuracy(plain),
          "aligned": accuracy(aligned), "median_eye_roll": float(np.median(rolls))}


def main(argv: list[str]) -> None:
  del argv
  from ferjax.inference import ExpressionClassifier  # pylint: disable=g-import-not-at-top
  from ferjax.live import pipeline  # pylint: disable=g-import-not-at-top
  detector = pipeline.create_detector()
  classifier = ExpressionClassifier(_MODEL.value)
  lines = [report.provenance().rstrip("\n"), "",
           f"Model `{_MODEL.value}`; validation faces enlarged {SCALE}x on a canvas rotated "
           "by R degrees (alternate faces the other way), detected by the live detector, "
           "cropped without and with eye-level alignment; accuracy over all faces (missed "
           "ones count as errors for both).", "",
           "| dataset | roll R | faces found | measured eye roll (median) | accuracy, plain "
           "crop | accuracy, aligned crop | aligned - plain |", "|---|---|---|---|---|---|---|"]
  for (dataset, label), npz in zip(DATASETS, _NPZ.value):
    images, labels = validation_faces(dataset, npz)
    for roll in (float(r) for r in _ROLLS.value):
      r = measure(images, labels, roll, detector, classifier)
      print(dataset, roll, r, flush=True)
      lines.append(f"| {label} | {roll:g} deg | {r['found']} of {r['faces']} | "
                   f"{r['median_eye_roll']:.1f} deg | {100 * r['plain']:.2f}% | "
                   f"{100 * r['aligned']:.2f}% | {100 * (r['aligned'] - r['plain']):+.2f} |")
  body = "\n".join(lines)
  report.publish(TITLE, body, _WRITE.value)


if __name__ == "__main__":
  app.run(main)
