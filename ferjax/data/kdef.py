"""The Karolinska Directed Emotional Faces (KDEF) folder layout.

Official layout: ``KDEF/<subject>/<subject><expression><angle>.JPG``, e.g.
``KDEF/AF01/AF01ANS.JPG`` = session A, female 01, angry, straight. Subjects
are ``[AB][FM]NN``; 562x762 colour portraits.
"""

from __future__ import annotations

import dataclasses
import os
import re

from ferjax.data.errors import DataError
from ferjax.labels import EMOTIONS

INSTRUCTIONS = """\
KDEF is not downloaded automatically. Request it at https://kdef.se (the
"KDEF & AKDEF" archive), extract it, and put the extracted folder (the one
holding KDEF/AF01/AF01ANS.JPG ...) in the manual directory (default
~/tensorflow_datasets/downloads/manual/, or pass --manual_dir)."""

# KDEF expression code -> ferjax emotion (AF = afraid).
EXPRESSIONS: dict[str, str] = {
    "AF": "fear", "AN": "angry", "DI": "disgust", "HA": "happy",
    "NE": "neutral", "SA": "sad", "SU": "surprise"}
ANGLES: dict[str, str] = {
    "FL": "full_left", "HL": "half_left", "S": "straight",
    "HR": "half_right", "FR": "full_right"}

_NAME = re.compile(
    r"^(?P<session>[AB])(?P<gender>[FM])(?P<number>\d\d)"
    r"(?P<expression>AF|AN|DI|HA|NE|SA|SU)(?P<angle>FL|HL|S|HR|FR)\.JPE?G$",
    re.IGNORECASE)


@dataclasses.dataclass(frozen=True)
class KdefImage:
  path: str
  label: int          # index into EMOTIONS
  subject: str        # e.g. AF01
  session: str        # A or B
  gender: str         # F or M
  angle: str          # a value of ANGLES

  @property
  def key(self) -> str:
    return os.path.basename(self.path).upper()


def parse_name(path: str) -> KdefImage | None:
  """Parses a KDEF file name; None if the name does not follow the layout."""
  match = _NAME.match(os.path.basename(path))
  if match is None:
    return None
  g = {k: v.upper() for k, v in match.groupdict().items()}
  return KdefImage(
      path=path,
      label=EMOTIONS.index(EXPRESSIONS[g["expression"]]),
      subject=g["session"] + g["gender"] + g["number"],
      session=g["session"], gender=g["gender"], angle=ANGLES[g["angle"]])


def find_images(manual_dir: str | os.PathLike,
                angles: tuple[str, ...] = ("straight",)) -> list[KdefImage]:
  """All KDEF images below `manual_dir` taken at one of `angles`, sorted by name."""
  manual_dir = os.fspath(manual_dir)
  if not os.path.isdir(manual_dir):
    raise DataError(f"manual directory {manual_dir!r} does not exist.\n" + INSTRUCTIONS)
  unknown = set(angles) - set(ANGLES.values())
  if unknown:
    raise DataError(f"unknown KDEF angles {sorted(unknown)}; "
                    f"choose from {list(ANGLES.values())}")
  found: dict[str, KdefImage] = {}
  for root, _, files in os.walk(manual_dir):
    for name in files:
      image = parse_name(os.path.join(root, name))
      if image is not None and image.angle in angles:
        found.setdefault(image.key, image)  # the official tree has no duplicates
  if not found:
    raise DataError(f"no KDEF images (like KDEF/AF01/AF01ANS.JPG) found in "
                    f"{manual_dir!r}.\n" + INSTRUCTIONS)
  return [found[k] for k in sorted(found)]
