"""The Japanese Female Facial Expression (JAFFE) folder layout.

Official layout: one flat folder of 256x256 grayscale TIFFs named
``<subject>.<expression><n>.<id>.tiff``, e.g. ``KA.AN1.39.tiff`` = subject
KA, angry, first take, image 39.
"""

from __future__ import annotations

import dataclasses
import os
import re

from ferjax.data.errors import DataError
from ferjax.labels import EMOTIONS

INSTRUCTIONS = """\
JAFFE is not downloaded automatically. Request it from its authors
(https://zenodo.org/record/3451524), extract it, and put the folder of .tiff
files (KA.AN1.39.tiff ...) in the manual directory (default
~/tensorflow_datasets/downloads/manual/, or pass --manual_dir)."""

EXPRESSIONS: dict[str, str] = {
    "AN": "angry", "DI": "disgust", "FE": "fear", "HA": "happy",
    "NE": "neutral", "SA": "sad", "SU": "surprise"}

_NAME = re.compile(
    r"^(?P<subject>[A-Z]{2})\.(?P<expression>AN|DI|FE|HA|NE|SA|SU)(?P<take>\d+)"
    r"\.(?P<id>\d+)\.TIFF?$", re.IGNORECASE)


@dataclasses.dataclass(frozen=True)
class JaffeImage:
  path: str
  label: int      # index into EMOTIONS
  subject: str    # e.g. KA

  @property
  def key(self) -> str:
    return os.path.basename(self.path)


def parse_name(path: str) -> JaffeImage | None:
  """Parses a JAFFE file name; None if the name does not follow the layout."""
  match = _NAME.match(os.path.basename(path))
  if match is None:
    return None
  expression = EXPRESSIONS[match["expression"].upper()]
  return JaffeImage(path=path, label=EMOTIONS.index(expression),
                    subject=match["subject"].upper())


def find_images(manual_dir: str | os.PathLike) -> list[JaffeImage]:
  """All JAFFE images below `manual_dir`, sorted by file name."""
  manual_dir = os.fspath(manual_dir)
  if not os.path.isdir(manual_dir):
    raise DataError(f"manual directory {manual_dir!r} does not exist.\n" + INSTRUCTIONS)
  found: dict[str, JaffeImage] = {}
  for root, _, files in os.walk(manual_dir):
    for name in files:
      image = parse_name(os.path.join(root, name))
      if image is not None:
        found.setdefault(image.key, image)
  if not found:
    raise DataError(f"no JAFFE images (like KA.AN1.39.tiff) found in "
                    f"{manual_dir!r}.\n" + INSTRUCTIONS)
  return [found[k] for k in sorted(found)]
