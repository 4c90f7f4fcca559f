"""Frame sources for the live tool: webcam, video, GIF, photos, a folder, or the demo.

`open_source(spec)` returns a `FrameSource`: iterate it for `Frame`s. Files
yield every frame with timestamps from their frame rate; a webcam yields the
newest frame only (a reader thread drops the ones we are too slow for), with
wall-clock timestamps. A source with `photos = True` holds unrelated still
images: each is analysed on its own (no tracking across them).
"""

from __future__ import annotations

import dataclasses
import datetime
import os
import threading
import time
from collections.abc import Iterator
from typing import Any

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
  name: str = ""      # file name of a photo or image-folder frame


class FrameSource:
  """Base class: iterable of frames, with a description and an is-live flag."""

  description: str = ""
  live: bool = False
  photos: bool = False
  fps: float = 0.0

  def __iter__(self) -> Iterator[Frame]:
    raise NotImplementedError

  def recording(self) -> dict[str, Any]:
    """What a teacher calls the recording and when it was made, as far as known:
    name, kind, started_at / ended_at (ISO 8601 local time), time_basis."""
    return {"name": self.description, "kind": "video"}

  def close(self) -> None:
    pass


def _local_time(seconds: float) -> str:
  return datetime.datetime.fromtimestamp(seconds).astimezone().isoformat(timespec="seconds")


class VideoFileSource(FrameSource):
  """Every frame of a video file or animated GIF."""

  def __init__(self, path: str, default_fps: float = 25.0):
    self._capture = cv2.VideoCapture(path)
    if not self._capture.isOpened():
      raise SourceError(f"cannot open video {path!r} (unknown format or unreadable file)")
    fps = self._capture.get(cv2.CAP_PROP_FPS)
    self.fps = fps if 0 < fps < 1000 else default_fps
    self.description = f"file {path}"
    self._path = path

  def recording(self) -> dict[str, Any]:
    return {"name": os.path.basename(self._path), "kind": "video",
            "ended_at": _local_time(os.path.getmtime(self._path)),
            "time_basis": "the file's modification time, taken as the end of the recording"}

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
  """Still images in name order: video frames played at `fps`, or unrelated photos.

  `photos=True` marks them as unrelated (each analysed on its own); a single
  image file is always a photo.
  """

  def __init__(self, path: str, fps: float = 25.0, photos: bool = False):
    if os.path.isdir(path):
      self._paths = sorted(os.path.join(path, f) for f in os.listdir(path)
                           if is_image_file(f))
      if not self._paths:
        raise SourceError(f"no images in folder {path!r}")
      kind = "photos" if photos else "images"
      self.description = f"image folder {path} ({len(self._paths)} {kind})"
    else:
      self._paths = [path]
      photos = True
      self.description = f"photo {path}"
    self.fps = fps
    self.photos = photos
    self._path = path

  def recording(self) -> dict[str, Any]:
    name = os.path.basename(os.path.normpath(self._path))
    if self.photos:
      return {"name": name, "kind": "photos"}
    return {"name": name, "kind": "frames",
            "ended_at": _local_time(max(os.path.getmtime(p) for p in self._paths)),
            "time_basis": "the newest image's modification time, taken as the end"}

  def __iter__(self) -> Iterator[Frame]:
    for index, path in enumerate(self._paths):
      image = cv2.imread(path, cv2.IMREAD_COLOR)
      if image is None:
        raise SourceError(f"{path}: unreadable image; remove it or convert it to JPEG/PNG")
      yield Frame(index, index / self.fps, image, os.path.basename(path))


class DemoSource(FrameSource):
  """`--source demo`: a generated classroom of one public-domain portrait, no camera needed.

  The students are variants (mirrored, lit differently) of the Grace Hopper
  portrait that matplotlib ships as sample data (US Navy photograph, public
  domain), seated in `ferjax.synthetic.classroom`'s generated room.
  """

  # Grace Hopper's face in matplotlib's grace_hopper.jpg (a CenterFace box).
  _FACE_BOX = (173.3, 123.0, 355.7, 338.3)

  def __init__(self, num_students: int = 8, seconds: float = 10.0, fps: float = 15.0,
               seed: int = 0):
    self.fps = fps
    self.num_frames = int(round(seconds * fps))
    self.num_students = num_students
    self.seed = seed
    self.description = (f"demo ({num_students} generated students from the public-domain "
                        "Grace Hopper portrait in matplotlib's sample data)")

  def _faces(self) -> np.ndarray:
    import matplotlib.cbook  # pylint: disable=g-import-not-at-top
    from ferjax.faces import crop  # pylint: disable=g-import-not-at-top
    path = matplotlib.cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)
    image = cv2.imread(os.fspath(path), cv2.IMREAD_COLOR)
    if image is None:
      raise SourceError(f"the demo's portrait {path} is unreadable; reinstall matplotlib")
    face = crop.crop_face(image, self._FACE_BOX, size=96)
    variants = []
    for gamma in (0.7, 0.85, 1.0, 1.25):
      lut = np.clip(255 * (np.arange(256) / 255) ** gamma, 0, 255).astype(np.uint8)
      variants += [cv2.LUT(face, lut), cv2.LUT(face[:, ::-1].copy(), lut)]
    return np.stack(variants)

  def recording(self) -> dict[str, Any]:
    return {"name": "demo (generated classroom)", "kind": "demo"}

  def __iter__(self) -> Iterator[Frame]:
    from ferjax.synthetic import classroom  # pylint: disable=g-import-not-at-top
    faces = self._faces()
    labels = np.zeros(len(faces), np.int64)
    frames = classroom.generate(faces, labels, num_students=self.num_students,
                                num_frames=self.num_frames, seed=self.seed,
                                fps=self.fps, face_size=(24, 64))
    for index, (image, _) in enumerate(frames):
      yield Frame(index, index / self.fps, image)


CAMERA_SIZE = (1280, 720)  # Asked of a webcam: twice the pixels of 640x480 per face.


def parse_size(text: str) -> tuple[int, int]:
  """'1280x720' -> (1280, 720); ValueError with the expected form otherwise."""
  parts = str(text).lower().replace(" ", "").split("x")
  try:
    width, height = (int(p) for p in parts)
  except ValueError:
    width = height = 0
  if width < 16 or height < 16:
    raise ValueError(f"{text!r}: expected WIDTHxHEIGHT in pixels, e.g. 1280x720")
  return width, height


class CameraSource(FrameSource):
  """A webcam; a background thread keeps only the newest frame (drop, don't lag).

  The camera is asked for `size` (w, h); a camera that does not offer it gives
  another, and `size` is then what it gives (`requested_size` what was asked).
  """

  live = True

  def __init__(self, index: int, size: tuple[int, int] = CAMERA_SIZE):
    previous = cv2.utils.logging.getLogLevel()
    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)  # No probe noise.
    try:
      self._capture = cv2.VideoCapture(index)
      opened = self._capture.isOpened()
      if opened:
        self._capture.set(cv2.CAP_PROP_FRAME_WIDTH, size[0])
        self._capture.set(cv2.CAP_PROP_FRAME_HEIGHT, size[1])
      found, image = self._capture.read() if opened else (False, None)
    finally:
      cv2.utils.logging.setLogLevel(previous)
    if not found or image is None:
      self._capture.release()
      raise SourceError(f"no camera found at index {index}; try --source demo, or "
                        "--source a video, GIF, photo or folder of images")
    self.requested_size = tuple(size)
    self.size = (int(image.shape[1]), int(image.shape[0]))
    self.fps = self._capture.get(cv2.CAP_PROP_FPS) or 30.0
    self.description = f"camera {index} at {self.size[0]}x{self.size[1]}"
    if self.size != self.requested_size:
      self.description += (f" (asked for {size[0]}x{size[1]}, which it does not offer)")
    self._started_at: str | None = None
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

  def recording(self) -> dict[str, Any]:
    return {"name": self.description, "kind": "camera", "started_at": self._started_at,
            "time_basis": "this computer's clock" if self._started_at else None}

  def __iter__(self) -> Iterator[Frame]:
    start = time.monotonic()
    self._started_at = _local_time(time.time())
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


DEMO = "demo"


def is_photo_source(spec: str, photos: bool = False) -> bool:
  """Whether `spec` opens as photos: one image file (not a GIF), or a folder with `photos`."""
  spec = str(spec).strip()
  if os.path.isdir(spec):
    return photos
  return (os.path.isfile(spec) and is_image_file(os.path.basename(spec))
          and not spec.lower().endswith(".gif"))


def open_source(spec: str, fps: float = 25.0, photos: bool = False,
                camera_size: tuple[int, int] = CAMERA_SIZE) -> FrameSource:
  """Opens `spec`: a camera index ("0"), "demo", a video/GIF, a photo, or a folder.

  A folder holds video frames, or unrelated photos when `photos` is set. A camera
  is asked for `camera_size` (w, h).
  """
  spec = str(spec).strip()
  if spec.isdigit():
    return CameraSource(int(spec), camera_size)
  if spec == DEMO and not os.path.exists(spec):
    return DemoSource()
  if os.path.isdir(spec) or is_photo_source(spec):
    return ImageFolderSource(spec, fps, photos=photos)
  if not os.path.exists(spec):
    raise SourceError(f"--source {spec!r}: no such file or folder (use a camera index "
                      "such as 0, demo, a video/GIF file, a photo or a folder of images)")
  return VideoFileSource(spec, default_fps=fps)


# Video containers ferjax writes, and the codec OpenCV uses for each.
