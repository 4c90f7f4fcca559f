"""The annotated copy a user asks for with --output: a video, or one image per photo.

Both are checked before any work (`check_output`) and never overwrite a file:
a video is written under a temporary name and renamed when finished; each
annotated photo is written whole or not at all. They show faces, so they are
only written on request.
"""

from __future__ import annotations

import os

import cv2
import numpy as np

from ferjax import files
from ferjax.data.images import is_image_file

PHOTO_EXTENSIONS = (".jpg", ".jpeg", ".png")


def check_output(path: str | None, photos: bool, single_photo: bool) -> None:
  """--output: a new video file, a new image file (one photo), or a folder (photos).

  Raises files.OutputError with a one-line message saying what to pass.
  """
  if not path:
    return
  ext = os.path.splitext(path)[1].lower()
  if photos and single_photo and ext in PHOTO_EXTENSIONS:
    if os.path.lexists(path):
      raise files.OutputError(f"--output {path} already exists; choose a new file name")
    files.check_output_dir(os.path.dirname(os.path.abspath(path)), "the folder of --output")
    return
  if photos:
    if ext:
      raise files.OutputError(f"--output {path}: for photos pass a .jpg/.png file (one "
                              "photo) or a folder for the annotated copies")
    files.check_output_dir(path, "--output")
    if os.path.isdir(path) and any(is_image_file(n) for n in os.listdir(path)):
      raise files.OutputError(f"--output {path} already holds images; pass a new folder")
    return
  if ext not in files.VIDEO_FOURCC:
    raise files.OutputError(f"--output {path}: the annotated video must be a .mp4 or "
                            ".avi file")
  if os.path.lexists(path):
    raise files.OutputError(f"--output {path} already exists; choose a new file name")
  files.check_output_dir(os.path.dirname(os.path.abspath(path)), "the folder of --output")


class VideoOutput:
  """The annotated video, written under a temporary name and renamed when finished."""

  def __init__(self, path: str, fps: float):
    self.path = path
    self._fps = fps
    self._writer: cv2.VideoWriter | None = None
    folder, name = os.path.split(os.path.abspath(path))
    stem, self._ext = os.path.splitext(name)
    self._tmp = os.path.join(folder, f".{stem}.{os.getpid()}.tmp{self._ext}")

  def write(self, image: np.ndarray, name: str = "") -> None:
    del name
    if self._writer is None:
      os.makedirs(os.path.dirname(self._tmp), exist_ok=True)
      self._writer = files.open_video_writer(
          self._tmp, self._fps, (image.shape[1], image.shape[0]), container=self._ext)
    self._writer.write(image)

  def close(self) -> None:
    if self._writer is None:
      return
    self._writer.release()
    if os.path.exists(self._tmp):
      os.chmod(self._tmp, 0o644)
      os.replace(self._tmp, self.path)


class PhotoOutput:
  """Annotated photos: one file (`path` has an image extension) or a folder of copies."""

  def __init__(self, path: str):
    self.path = path
    self._single = os.path.splitext(path)[1].lower() in PHOTO_EXTENSIONS
    self.written: list[str] = []

  def write(self, image: np.ndarray, name: str = "") -> None:
    if self._single:
      target, ext = self.path, os.path.splitext(self.path)[1]
    else:  # The photo's own name (names in one folder are unique).
      os.makedirs(self.path, exist_ok=True)
      name = name or f"photo{len(self.written):05d}.jpg"
      ext = os.path.splitext(name)[1].lower()
      if ext not in PHOTO_EXTENSIONS:
        name, ext = name + ".jpg", ".jpg"
      target = os.path.join(self.path, name)
    ok, encoded = cv2.imencode(ext, image)
    if not ok:
      raise OSError(f"cannot encode {target}")
    files.atomic_write_bytes(target, encoded.tobytes())
    self.written.append(target)

  def close(self) -> None:
    pass
