"""Frame sources for the live tool: webcam, video file, GIF, or a folder of images.

`open_source(spec)` returns a `FrameSource`: iterate it for `Frame`s. Files
yield every frame with timestamps from their frame rate; a webcam yields the
newest frame only (a reader thread drops the ones we are too slow for), with
wall-clock timestamps.
"""

from __future__ import annotations

import dataclasses
import os
import threading
import time
from collections.abc import Iterator

import cv2
import numpy as np

from ferjax.data.images import is_image_file
from ferjax.faces import pixels


class SourceError(RuntimeError):
  """The requested source cannot be opened or read."""


@dataclasses.dataclass(frozen=True)
class Frame:
  index: int          # 0, 1, 2 ... in the order yielded
  timestamp: float    # seconds since the start of the source
  image: np.ndarray   # BGR uint8 (H, W, 3)


class FrameSource:
  """Base class: iterable of frames, with a description and an is-live flag."""

  description: str = ""
  live: bool = False
  fps: float = 0.0

  def __iter__(self) -> Iterator[Frame]:
    raise NotImplementedError

  def close(self) -> None:
    pass


class VideoFileSource(FrameSource):
  """Every frame of a video file or animated GIF."""

  def __init__(self, path: str, default_fps: float = 25.0):
    self._capture = cv2.VideoCapture(path)
    if not self._capture.isOpened():
      raise SourceError(f"cannot open video {path!r} (unknown format or unreadable file)")
    fps = self._capture.get(cv2.CAP_PROP_FPS)
    self.fps = fps if 0 < fps < 1000 else default_fps
    self.description = f"file {path}"

  def __iter__(self) -> Iterator[Frame]:
    index = 0
    while True:
      ok, image = self._capture.read()
      if not ok:
        return
      yield Frame(index, index / self.fps, pixels.to_bgr(image))
      index += 1

  def close(self) -> None:
    self._capture.release()


class ImageFolderSource(FrameSource):
  """A folder of still images in name order, played at `fps`."""

  def __init__(self, path: str, fps: float = 25.0):
    self._paths = sorted(os.path.join(path, f) for f in os.listdir(path) if is_image_file(f))
    if not self._paths:
      raise SourceError(f"no images in folder {path!r}")
    self.fps = fps
    self.description = f"image folder {path} ({len(self._paths)} images)"

  def __iter__(self) -> Iterator[Frame]:
    for index, path in enumerate(self._paths):
      image = cv2.imread(path, cv2.IMREAD_COLOR)
      if image is None:
        raise SourceError(f"{path}: unreadable image")
      yield Frame(index, index / self.fps, image)


class CameraSource(FrameSource):
  """A webcam; a background thread keeps only the newest frame (drop, don't lag)."""

  live = True

  def __init__(self, index: int, width: int = 640, height: int = 480):
    self._capture = cv2.VideoCapture(index)
    if not self._capture.isOpened() or not self._capture.read()[0]:
      self._capture.release()
      raise SourceError(f"no camera at index {index}; pass a video, GIF or image "
                        "folder with --source PATH")
    self._capture.set(cv2.CAP_PROP_FRAME_WIDTH, width)
    self._capture.set(cv2.CAP_PROP_FRAME_HEIGHT, height)
    self.fps = self._capture.get(cv2.CAP_PROP_FPS) or 30.0
    self.description = f"camera {index}"
    self._latest: np.ndarray | None = None
    self._condition = threading.Condition()
    self._running = True
    self.dropped = 0
    self._thread = threading.Thread(target=self._read_loop, daemon=True)
    self._thread.start()

  def _read_loop(self) -> None:
    while self._running:
      ok, image = self._capture.read()
      with self._condition:
        if not ok:
          self._running = False
        elif self._latest is not None:
          self.dropped += 1
        self._latest = image if ok else None
        self._condition.notify()

  def __iter__(self) -> Iterator[Frame]:
    start = time.monotonic()
    index = 0
    while True:
      with self._condition:
        while self._latest is None and self._running:
          self._condition.wait(timeout=1.0)
        image, self._latest = self._latest, None
      if image is None:
        return
      yield Frame(index, time.monotonic() - start, image)
      index += 1

  def close(self) -> None:
    self._running = False
    self._thread.join(timeout=2.0)
    self._capture.release()


def open_source(spec: str, fps: float = 25.0) -> FrameSource:
  """Opens `spec`: a camera index ("0"), a video/GIF file, or a folder of images."""
  spec = str(spec).strip()
  if spec.isdigit():
    return CameraSource(int(spec))
  if os.path.isdir(spec):
    return ImageFolderSource(spec, fps)
  if not os.path.exists(spec):
    raise SourceError(f"--source {spec!r}: no such file or folder (use a camera index "
                      "such as 0, a video/GIF file, or a folder of images)")
  return VideoFileSource(spec, default_fps=fps)


# Video containers ferjax writes, and the codec OpenCV uses for each.
VIDEO_FOURCC = {".mp4": "mp4v", ".avi": "MJPG"}


def open_video_writer(path: str, fps: float, size: tuple[int, int],
                      container: str | None = None) -> cv2.VideoWriter:
  """An opened OpenCV writer for `path` (`container`: its extension if `path` lacks one).

  Raises ValueError for an extension other than .mp4 or .avi and OSError if
  OpenCV cannot open the file.
  """
  ext = (container or os.path.splitext(path)[1]).lower()
  if ext not in VIDEO_FOURCC:
    raise ValueError(f"{path}: use one of {', '.join(VIDEO_FOURCC)}")
  writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*VIDEO_FOURCC[ext]), fps, size)
  if not writer.isOpened():
    raise OSError(f"{path}: OpenCV cannot write {VIDEO_FOURCC[ext]} video")
  return writer
