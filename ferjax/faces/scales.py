"""Which input scale and tiles a detector runs a frame at, from the smallest face wanted.

A detector finds faces reliably only above some side in *network-input* pixels
(`RELIABLE_FACE_PX`, measured by `python -m benchmarks.detection_scale`). To find
faces of `min_face` frame pixels the frame is scaled by `reliable_px / min_face`:
up for small faces in a small frame, down for a large frame whose faces are
large. The scaled area is capped (`max_pixels`); past `max_tile_side` the scaled
frame is cut into overlapping tiles of one shape, run as one batch, and a coarse
pass of the whole frame (longer side `COARSE_SIDE`, a second, small call) finds
the faces too large to lie whole inside a tile.

    plan = scales.plan_detection((2256, 4000, 3), min_face=14,
                                 reliable_px=scales.reliable_face_px(0.5))
    plan.describe()
    # '2105x1187 input (x0.526), 2 tiles of 1152x1216 + coarse x0.160, faces >= 48 px'
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

Window = tuple[int, int, int, int]  # x0, y0, x1, y1 in scaled-frame pixels.

# Side sqrt(w h) of CenterFace's box (input pixels) from which >= 95% of real faces
# are found, per score threshold: faces of four shared clips rescaled to each size
# and detected at native scale (BENCHMARKS.md, "Detection scale").
RELIABLE_FACE_PX = {0.2: 12.0, 0.3: 14.0, 0.4: 16.0, 0.5: 18.0, 0.6: 20.0, 0.7: 24.0}
# Those faces keep their whole frame around them and are sharp (shrunk). Heads pasted
# into clutter in 640x480 frames need 1.4x that side for 95% recall of faces >= 14 px
# (score 0.5: 0.950 at input scale 1.8; 0.3: 0.976 at 1.4), as do a camera's blurrier
# faces: the plan uses the table times MARGIN.
MARGIN = 1.4

DEFAULT_MIN_FACE = 14.0  # Frame pixels: a small face in a 640x480 classroom camera.
DEFAULT_MAX_PIXELS = 2_500_000  # Scaled-frame area cap: ~1-2 s per frame on 2 CPU cores.
DEFAULT_MAX_TILE_SIDE = 1280  # Longer scaled sides are tiled.
MAX_UPSCALE = 4.0  # Past ~3x a detector sees only blur: no gain in recall.
MULTIPLE = 32  # CenterFace's input sides are multiples of its largest stride.
MIN_OVERLAP = 64  # Input pixels shared by neighbouring tiles, at least.
COARSE_SIDE = 640  # Longer side of the whole-frame pass that goes with tiles.


def _check_positive(name: str, value: float | None) -> None:
  if value is not None and not value > 0:
    raise ValueError(f"{name} must be > 0, got {value!r}")


def reliable_face_px(score_threshold: float, table: dict[float, float] | None = None,
                     margin: float = MARGIN) -> float:
  """Face side (input px) found reliably at `score_threshold`: `table`, interpolated,
  times `margin`."""
  if not 0 < score_threshold < 1:
    raise ValueError(f"score_threshold must be in (0, 1), got {score_threshold!r}")
  _check_positive("margin", margin)
  table = RELIABLE_FACE_PX if table is None else table
  thresholds = sorted(table)
  return margin * float(np.interp(score_threshold, thresholds,
                                  [table[t] for t in thresholds]))


def round_up(value: float, multiple: int = MULTIPLE) -> int:
  return int(math.ceil(value / multiple) * multiple)


@dataclasses.dataclass(frozen=True)
class DetectionPlan:
  """How one frame size is run: scale, tiles in the scaled frame, coarse pass.

  `input_size` (w, h) is the scaled frame; `tile_size` (w, h) the network input of
  every batch item (a multiple of 32; without tiles, the padded scaled frame).
  `windows` are the tiles' rectangles in the scaled frame (one window without
  tiling), run as one batch. `coarse_scale` is the scale of the whole-frame pass
  (longer side `COARSE_SIDE`, a second network call) that goes with tiles (None
  without tiles). `min_face` is the smallest face side (frame
  px) the plan finds reliably: larger than asked when `max_pixels` capped it.
  """
  frame_size: tuple[int, int]
  scale: float
  input_size: tuple[int, int]
  tile_size: tuple[int, int]
  windows: tuple[Window, ...]
  overlap: int = 0
  coarse_scale: float | None = None
  min_face: float = 0.0

  @property
  def tiles(self) -> int:
    """Number of tiles; 1 for a single pass."""
    return len(self.windows)

  @property
  def tiled(self) -> bool:
    return self.coarse_scale is not None

  @property
  def coarse_size(self) -> tuple[int, int] | None:
    """(w, h) of the scaled frame in the coarse pass (unpadded), None without tiles."""
    if self.coarse_scale is None:
      return None
    return (max(1, round(self.frame_size[0] * self.coarse_scale)),
            max(1, round(self.frame_size[1] * self.coarse_scale)))

  @property
  def batch(self) -> int:
    """Network inputs per frame: the tiles and the coarse pass (two calls when tiled)."""
    return self.tiles + self.tiled

  @property
  def input_pixels(self) -> int:
    """Pixels the network sees per frame, padding included."""
    pixels = self.tiles * self.tile_size[0] * self.tile_size[1]
    if self.tiled:
      pixels += round_up(self.coarse_size[0]) * round_up(self.coarse_size[1])
    return pixels

  def describe(self) -> str:
    """One line for logs: input size and scale, tiles, coarse pass, smallest face found."""
    w, h = self.input_size
    line = f"{w}x{h} input (x{self.scale:.3f})"
    if self.tiled:
      tw, th = self.tile_size
      line += f", {self.tiles} tiles of {tw}x{th} + coarse x{self.coarse_scale:.3f}"
    return line + f", faces >= {self.min_face:.0f} px"


def choose_scale(frame_size: tuple[int, int], min_face: float, reliable_px: float,
                 max_pixels: int = DEFAULT_MAX_PIXELS,
                 max_upscale: float = MAX_UPSCALE) -> float:
  """`reliable_px / min_face`, capped by `max_upscale` and the scaled area `max_pixels`."""
  _check_positive("min_face", min_face)
  _check_positive("reliable_px", reliable_px)
  _check_positive("max_pixels", max_pixels)
  _check_positive("max_upscale", max_upscale)
  w, h = frame_size
  scale = min(reliable_px / min_face, max_upscale, math.sqrt(max_pixels / (w * h)))
  # At least one stride-32 cell along the shorter side.
  return max(scale, MULTIPLE / min(w, h)) if min(w, h) < MULTIPLE else scale


def tile_starts(length: int, tile: int, count: int) -> list[int]:
  """`count` evenly spread starts, multiples of 32, of windows of `tile` covering `length`.

  Aligned starts keep the network's stride grid where a single pass would have it;
  the last window may run past `length` (it is padded).
  """
  if count == 1:
    return [0]
  return [round_up(i * (length - tile) / (count - 1) - MULTIPLE / 2) for i in range(count - 1)
          ] + [round_up(length - tile)]


def tile_grid(input_size: tuple[int, int], max_tile_side: int, overlap: int
              ) -> tuple[tuple[int, int], tuple[Window, ...]]:
  """(tile w, h) and windows of the fewest tiles of one shape covering `input_size`.

  Neighbouring windows share at least `overlap` pixels; each tile side is a multiple
  of 32 and at most `max_tile_side` (unless the overlap forces it larger).
  """
  spread = overlap + MULTIPLE  # Aligning the starts moves them by up to 32 px.
  sides, starts = [], []
  for length in input_size:
    if length <= max_tile_side:
      side, count = round_up(length), 1
    else:
      count = math.ceil((length - spread) / max(max_tile_side - spread, MULTIPLE))
      side = round_up((length + (count - 1) * spread) / count)
    sides.append(side)
    starts.append(tile_starts(length, min(side, length), count))
  (tw, th), (xs, ys) = sides, starts
  w, h = input_size
  windows = tuple((x, y, min(x + tw, w), min(y + th, h)) for y in ys for x in xs)
  return (tw, th), windows


def plan_detection(frame_shape: tuple[int, ...], *, min_face: float = DEFAULT_MIN_FACE,
                   reliable_px: float = MARGIN * RELIABLE_FACE_PX[0.5],
                   max_pixels: int = DEFAULT_MAX_PIXELS,
                   max_tile_side: int = DEFAULT_MAX_TILE_SIDE,
                   max_side: int | None = None) -> DetectionPlan:
  """The plan for a frame of `frame_shape` (h, w[, c]).

  `max_side` overrides the choice: the longer side is scaled to it, one pass, no
  tiles (the fixed-size behaviour).
  """
  h, w = int(frame_shape[0]), int(frame_shape[1])
  if h < 1 or w < 1:
    raise ValueError(f"empty frame shape {tuple(frame_shape)}")
  _check_positive("max_side", max_side)
  _check_positive("max_tile_side", max_tile_side)
  if max_side is not None:
    scale = max_side / max(w, h)
  else:
    scale = choose_scale((w, h), min_face, reliable_px, max_pixels)
  size = (max(1, round(w * scale)), max(1, round(h * scale)))
  found = reliable_px / scale
  # Past COARSE_SIDE only: tiles plus a coarse pass at the same scale cost more.
  if max_side is not None or max(size) <= max(max_tile_side, COARSE_SIDE):
    tile = (round_up(size[0]), round_up(size[1]))
    return DetectionPlan((w, h), scale, size, tile, ((0, 0) + size,), min_face=found)
  # The coarse pass finds faces whose side exceeds reliable_px / coarse scale; the
  # tiles must hold every smaller face whole, so they overlap by its scaled side.
  coarse = min(COARSE_SIDE / max(w, h), scale)
  largest = reliable_px * scale / coarse
  overlap = min(max(MIN_OVERLAP, math.ceil(1.25 * largest)), max_tile_side // 2)
  tile, windows = tile_grid(size, max_tile_side, overlap)
  return DetectionPlan((w, h), scale, size, tile, windows, overlap, coarse, found)
