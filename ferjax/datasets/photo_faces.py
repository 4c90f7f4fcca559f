"""What the photo-dataset builders (RAF-DB, ExpW) share: their features and examples."""

from __future__ import annotations

from typing import Iterator, Sequence

import numpy as np
import tensorflow_datasets as tfds

from ferjax.labels import EMOTIONS, FACE_SIZE


def info(builder: tfds.core.GeneratorBasedBuilder, homepage: str) -> tfds.core.DatasetInfo:
  """48x48 grey `image`, `label` (EMOTIONS), the source `name` and `face_found`."""
  return builder.dataset_info_from_configs(
      features=tfds.features.FeaturesDict({
          "image": tfds.features.Image(shape=(FACE_SIZE, FACE_SIZE, 1)),
          "label": tfds.features.ClassLabel(names=EMOTIONS),
          "name": tfds.features.Text(),
          "face_found": np.bool_,
      }),
      supervised_keys=("image", "label"),
      homepage=homepage,
  )


def examples(items: Sequence, crops: np.ndarray, found: np.ndarray) -> Iterator[tuple]:
  """(key, example) per item (with `name` and `label`) and its crop."""
  for item, crop, ok in zip(items, crops, found):
    yield item.name, {"image": crop[..., None], "label": item.label, "name": item.name,
                      "face_found": bool(ok)}
