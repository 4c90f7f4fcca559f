"""A folder of labelled photos: one sub-folder per emotion.

``DIR/happy/x.jpg``, ``DIR/Anger/y.png`` ... Folder names may be any common
synonym (anger/angry, happiness/happy, afraid/fear ...). Folders of classes
outside the 7 emotions (e.g. contempt) are skipped with a warning.
"""

from __future__ import annotations

import dataclasses
import os

from absl import logging

from ferjax.data.errors import DataError
from ferjax.data.images import is_image_file
from ferjax.labels import EMOTIONS, emotion_index


@dataclasses.dataclass(frozen=True)
class LabelledImage:
  path: str
  label: int  # index into EMOTIONS


@dataclasses.dataclass(frozen=True)
class ImageFolder:
  images: list[LabelledImage]
  skipped: dict[str, int]  # folder name -> number of images skipped


def scan(data_dir: str | os.PathLike) -> ImageFolder:
  """Lists the labelled images of `data_dir`, sorted by class folder then name."""
  data_dir = os.fspath(data_dir)
  if not os.path.isdir(data_dir):
    raise DataError(f"image folder {data_dir!r} does not exist")
  images, skipped = [], {}
  for folder in sorted(os.listdir(data_dir)):
    folder_path = os.path.join(data_dir, folder)
    if not os.path.isdir(folder_path) or folder.startswith("."):
      continue
    files = sorted(
        os.path.join(root, f)
        for root, _, names in os.walk(folder_path) for f in names if is_image_file(f))
    label = emotion_index(folder)
    if label is None:
      skipped[folder] = len(files)
      continue
    images.extend(LabelledImage(path, label) for path in files)
  if skipped:
    logging.warning(
        "skipped %d images in folders that are not one of the 7 emotions (%s): %s",
        sum(skipped.values()), ", ".join(EMOTIONS),
        ", ".join(f"{k} ({v})" for k, v in skipped.items()))
  if not images:
    raise DataError(
        f"no labelled images in {data_dir!r}: expected sub-folders named by "
        f"emotion ({', '.join(EMOTIONS)} or synonyms) holding image files")
  return ImageFolder(images=images, skipped=skipped)
