"""Reading photos from disk with errors that name the file."""

from __future__ import annotations

import os

import numpy as np
from PIL import Image, UnidentifiedImageError

from ferjax.data.errors import DataError

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp", ".gif")


def is_image_file(name: str) -> bool:
  """True for file names with a common image extension (any case)."""
  return name.lower().endswith(IMAGE_EXTENSIONS) and not name.startswith(".")


def read_image(path: str | os.PathLike, mode: str = "RGB") -> np.ndarray:
  """Decodes an image file into a uint8 array: (H, W, 3) for RGB, (H, W) for L."""
  try:
    with Image.open(path) as image:
      return np.asarray(image.convert(mode))
  except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as e:
    raise DataError(f"{os.fspath(path)}: unreadable image ({e})") from e
