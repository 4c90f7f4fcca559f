"""Times the `fer` package's pipeline on frames from a .npy; prints one JSON line.

Run by benchmarks/live_classroom.py with benchmarks/.venv-fer/bin/python (see
benchmarks/setup_fer_baseline.sh), never with the main environment:

    benchmarks/.venv-fer/bin/python -m benchmarks.fer_baseline_worker \
        --frames /tmp/frames.npy --detectors haar,mtcnn

For each detector it builds `fer.fer.FER` with the package defaults (Haar:
`mtcnn=False`; MTCNN: `mtcnn=True`, facenet-pytorch on the CPU; the emotion CNN
is the quantized TFLite model fer uses by default), calls `detect_emotions` once
to warm up, then times `detect_emotions(frame)` on every frame. Output:
{detector: {"ms": [per frame], "seconds": loop wall time,
            "boxes": [[[x0, y0, x1, y1], ...] per frame]} | {"error": str}}.

The PyPI torchvision wheel is a CUDA build whose C++ ops do not load next to
the CPU torch; facenet-pytorch only needs its `nms`, which `_provide_nms`
registers as a NumPy greedy NMS before torchvision is imported.
"""

from __future__ import annotations

import json
import os
import sys
import time

import numpy as np
from absl import app, flags

flags.DEFINE_string("frames", None, "A .npy of (n, h, w, 3) uint8 BGR frames.", required=True)
flags.DEFINE_list("detectors", ["haar", "mtcnn"], "haar and/or mtcnn.")
FLAGS = flags.FLAGS

_LIBRARIES = []  # Keeps the op registrations alive.


def _greedy_nms(boxes: np.ndarray, scores: np.ndarray, iou_threshold: float) -> np.ndarray:
  """Indices of the kept boxes (x0, y0, x1, y1), best score first."""
  order = np.argsort(-scores, kind="stable")
  b = boxes[order]
  area = np.clip(b[:, 2] - b[:, 0], 0, None) * np.clip(b[:, 3] - b[:, 1], 0, None)
  suppressed = np.zeros(len(b), bool)
  keep = []
  for i in range(len(b)):
    if suppressed[i]:
      continue
    keep.append(i)
    rest = b[i + 1:]
    w = np.clip(np.minimum(b[i, 2], rest[:, 2]) - np.maximum(b[i, 0], rest[:, 0]), 0, None)
    h = np.clip(np.minimum(b[i, 3], rest[:, 3]) - np.maximum(b[i, 1], rest[:, 1]), 0, None)
    inter = w * h
    iou = inter / np.maximum(area[i] + area[i + 1:] - inter, 1e-12)
    suppressed[i + 1:] |= iou > iou_threshold
  return order[np.asarray(keep, np.int64)]


def _provide_nms() -> None:
  """Defines torchvision::nms on the CPU when torchvision's own ops cannot load."""
  import torch  # pylint: disable=g-import-not-at-top
  try:
    import torchvision  # pylint: disable=g-import-not-at-top,unused-import
    return
  except RuntimeError:
    for name in list(sys.modules):  # Drop the half-imported package.
      if name.startswith("torchvision"):
        del sys.modules[name]
  library = torch.library.Library("torchvision", "DEF")
  library.define("nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
  library.define("qnms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")

  def nms(dets, scores, iou_threshold):
    keep = _greedy_nms(dets.detach().double().numpy(), scores.detach().double().numpy(),
                       iou_threshold)
    return torch.from_numpy(keep).to(dets.device)

  library.impl("nms", nms, "CPU")
  _LIBRARIES.append(library)
  import torchvision  # pylint: disable=g-import-not-at-top,redefined-outer-name
  torchvision.extension._has_ops = lambda: True  # pylint: disable=protected-access


def time_detector(name: str, frames: np.ndarray) -> dict:
  """Per-frame ms and boxes of FER(...).detect_emotions on every frame."""
  if name == "mtcnn":
    _provide_nms()
  from fer.fer import FER  # pylint: disable=g-import-not-at-top
  detector = FER(mtcnn=name == "mtcnn")
  detector.detect_emotions(frames[0])  # Warm-up.
  times, boxes = [], []
  start = time.perf_counter()
  for frame in frames:
    t0 = time.perf_counter()
    found = detector.detect_emotions(frame)
    times.append((time.perf_counter() - t0) * 1000)
    boxes.append([[int(x), int(y), int(x + w), int(y + h)]
                  for x, y, w, h in (f["box"] for f in found)])
  return {"ms": times, "seconds": time.perf_counter() - start, "boxes": boxes}


def main(argv: list[str]) -> None:
  del argv
  os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
  import cv2  # pylint: disable=g-import-not-at-top
  cv2.setNumThreads(os.cpu_count() or 1)
  frames = np.load(FLAGS.frames)
  results = {}
  for name in FLAGS.detectors:
    try:
      results[name] = time_detector(name, frames)
    except Exception as e:  # pylint: disable=broad-except
      results[name] = {"error": f"{type(e).__name__}: {e}"}
  print(json.dumps(results))


if __name__ == "__main__":
  app.run(main)
