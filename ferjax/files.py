"""Output files of the programs: checked before the work, written whole or not at all.

    check_output_dir(out_dir, "--out")       # OutputError with a one-line message
    atomic_write_text(path, text)            # complete file or none, mode 0644
    with replacing(path) as tmp:             # for writers that want a file name
      fig.savefig(tmp)

No JAX or TensorFlow here: the live and evaluation tools import it.
"""

from __future__ import annotations

import contextlib
import datetime
import os
import tempfile
from collections.abc import Iterator

DEFAULT_MODE = 0o644


class OutputError(ValueError):
  """An output path that cannot be used; the message is one line that says what to do."""


def _nearest_existing(path: str) -> str:
  """`path` or its closest ancestor that exists."""
  while not os.path.lexists(path):
    parent = os.path.dirname(path)
    if parent == path:
      break
    path = parent
  return path


def check_output_dir(path: str | os.PathLike, what: str) -> None:
  """Raises OutputError unless `path` is, or can be made as, a writable folder.

  Creates nothing. `what` names the path in the message (e.g. "--out").
  """
  path = os.path.abspath(os.path.expanduser(os.fspath(path)))
  existing = _nearest_existing(path)
  if not os.path.isdir(existing):
    if existing == path:
      raise OutputError(f"{what} {path} is a file, not a folder; pass a folder")
    raise OutputError(f"{what} {path} cannot be created: {existing} is a file, "
                      "not a folder; pass another path")
  if not os.access(existing, os.W_OK | os.X_OK):
    raise OutputError(f"{what} {path} is not writable ({existing} is read-only for "
                      "this user); pass a folder you can write to")


def is_empty_dir(path: str | os.PathLike) -> bool:
  """True if `path` is a folder with nothing in it."""
  return os.path.isdir(path) and not os.listdir(path)


def aside_name(path: str | os.PathLike, label: str = "previous") -> str:
  """A free name beside `path`: `<path>.<label>-YYYYmmdd-HHMMSS[-n]`."""
  path = os.fspath(path).rstrip(os.sep)
  stem = f"{path}.{label}-{datetime.datetime.now().strftime('%Y%m%d-%H%M%S')}"
  candidate, n = stem, 1
  while os.path.lexists(candidate):
    n += 1
    candidate = f"{stem}-{n}"
  return candidate


def unique_dir_name(path: str | os.PathLike) -> str:
  """`path`, or `path-2`, `path-3`, ... : the first that does not exist yet."""
  path = os.fspath(path).rstrip(os.sep)
  candidate, n = path, 1
  while os.path.lexists(candidate):
    n += 1
    candidate = f"{path}-{n}"
  return candidate


@contextlib.contextmanager
def replacing(path: str | os.PathLike, mode: int = DEFAULT_MODE) -> Iterator[str]:
  """Yields a temporary name beside `path`; on success it replaces `path`.

  The temporary name keeps the extension (writers such as matplotlib pick the
  format from it). On any error, or an interruption, the temporary file is
  removed and `path` keeps its old content (or stays absent).
  """
  path = os.fspath(path)
  folder, name = os.path.split(os.path.abspath(path))
  stem, ext = os.path.splitext(name)
  fd, tmp = tempfile.mkstemp(prefix=f".{stem}.", suffix=f".tmp{ext}", dir=folder)
  os.close(fd)
  try:
    yield tmp
    with open(tmp, "rb+") as f:  # On disk before the name points at it.
      os.fsync(f.fileno())
    os.chmod(tmp, mode)
    os.replace(tmp, path)
  finally:
    if os.path.lexists(tmp):
      os.unlink(tmp)


def atomic_write_bytes(path: str | os.PathLike, data: bytes,
                       mode: int = DEFAULT_MODE) -> None:
  """Writes `data` to `path` whole or not at all."""
  with replacing(path, mode) as tmp:
    with open(tmp, "wb") as f:
      f.write(data)


def atomic_write_text(path: str | os.PathLike, text: str, mode: int = DEFAULT_MODE,
                      encoding: str = "utf-8") -> None:
  """Writes `text` to `path` whole or not at all."""
  atomic_write_bytes(path, text.encode(encoding), mode)


# Video files (written by the live tool's --output and the synthetic classroom).
VIDEO_FOURCC = {".mp4": "mp4v", ".avi": "MJPG"}


def open_video_writer(path: str, fps: float, size: tuple[int, int],
                      container: str | None = None) -> cv2.VideoWriter:
  """An opened OpenCV writer for `path` (`container`: its extension if `path` lacks one).

  Raises ValueError for an extension other than .mp4 or .avi and OSError if
  OpenCV cannot open the file.
  """
  import cv2  # pylint: disable=g-import-not-at-top
  ext = (container or os.path.splitext(path)[1]).lower()
  if ext not in VIDEO_FOURCC:
    raise ValueError(f"{path}: use one of {', '.join(VIDEO_FOURCC)}")
  writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*VIDEO_FOURCC[ext]), fps, size)
  if not writer.isOpened():
    raise OSError(f"{path}: OpenCV cannot write {VIDEO_FOURCC[ext]} video")
  return writer
