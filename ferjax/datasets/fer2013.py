"""TFDS builders for FER2013 and FER+ (the same rows with crowd-sourced labels)."""

from __future__ import annotations

import numpy as np
import tensorflow_datasets as tfds

from ferjax.data import fer2013
from ferjax.labels import EMOTIONS, FACE_SIZE, FERPLUS_EMOTIONS

_SPLIT_SIZES_NOTE = "train 28,709 (Training), validation 3,589 (PublicTest), test 3,589 (PrivateTest)"


class Fer2013(tfds.core.GeneratorBasedBuilder):
  """FER2013: 35,887 48x48 grayscale faces, 7 emotions (Goodfellow et al., 2013)."""

  VERSION = tfds.core.Version("1.0.0")
  RELEASE_NOTES = {"1.0.0": "Kaggle challenge CSV; " + _SPLIT_SIZES_NOTE}
  MANUAL_DOWNLOAD_INSTRUCTIONS = fer2013.FER2013_INSTRUCTIONS

  def _info(self) -> tfds.core.DatasetInfo:
    return self.dataset_info_from_configs(
        features=tfds.features.FeaturesDict({
            "image": tfds.features.Image(shape=(FACE_SIZE, FACE_SIZE, 1)),
            "label": tfds.features.ClassLabel(names=EMOTIONS),
            "row": np.int64,
        }),
        supervised_keys=("image", "label"),
        homepage="https://www.kaggle.com/c/challenges-in-representation-learning-facial-expression-recognition-challenge",
    )

  def _split_generators(self, dl_manager: tfds.download.DownloadManager):
    table = fer2013.read_fer2013(dl_manager.manual_dir)
    return {split: self._generate_examples(table, table.split_rows(split))
            for split in fer2013.SPLITS.values()}

  def _generate_examples(self, table: fer2013.Fer2013Table, rows: np.ndarray):
    for row in rows:
      yield int(row), {"image": table.images[row][..., None],
                       "label": int(table.labels[row]), "row": int(row)}


class Ferplus(tfds.core.GeneratorBasedBuilder):
  """FER+: the FER2013 faces with 10 crowd votes each (Barsoum et al., 2016).

  `votes` holds the 10 vote counts in the order of
  `ferjax.data.fer2013.VOTE_NAMES` (the 7 FER2013 emotions, contempt,
  unknown, not_face). `label` is the FER+ majority label over the 8
  emotions (the 7 in FER2013 order, then contempt): single votes are dropped
  as noise and the label must hold more than half of the rest; rows without
  such a label, or whose majority is unknown/not-a-face, are left out.
  """

  VERSION = tfds.core.Version("1.0.0")
  RELEASE_NOTES = {"1.0.0": "FER+ majority labels over the FER2013 splits."}
  MANUAL_DOWNLOAD_INSTRUCTIONS = fer2013.FERPLUS_INSTRUCTIONS

  def _info(self) -> tfds.core.DatasetInfo:
    return self.dataset_info_from_configs(
        features=tfds.features.FeaturesDict({
            "image": tfds.features.Image(shape=(FACE_SIZE, FACE_SIZE, 1)),
            "label": tfds.features.ClassLabel(names=FERPLUS_EMOTIONS),
            "votes": tfds.features.Tensor(shape=(fer2013.NUM_VOTES,), dtype=np.int32),
            "row": np.int64,
        }),
        supervised_keys=("image", "label"),
        homepage="https://github.com/microsoft/FERPlus",
    )

  def _split_generators(self, dl_manager: tfds.download.DownloadManager):
    table = fer2013.read_fer2013(dl_manager.manual_dir)
    votes = fer2013.read_ferplus_votes(dl_manager.manual_dir, len(table.labels))
    labels = fer2013.ferplus_majority(votes)
    return {split: self._generate_examples(table, votes, labels, table.split_rows(split))
            for split in fer2013.SPLITS.values()}

  def _generate_examples(self, table, votes, labels, rows):
    for row in rows[labels[rows] >= 0]:
      yield int(row), {"image": table.images[row][..., None],
                       "label": int(labels[row]), "votes": votes[row],
                       "row": int(row)}
