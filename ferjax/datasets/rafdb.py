"""TFDS builder for RAF-DB basic (Li, Deng & Du, CVPR 2017)."""

from __future__ import annotations

import tensorflow_datasets as tfds

from ferjax.data import rafdb
from ferjax.datasets import photo_faces


class Rafdb(tfds.core.GeneratorBasedBuilder):
  """RAF-DB basic: in-the-wild faces, 7 emotions, ~40 annotators per image.

  Each `image` is the 48x48 grey face cut with the live tool's detector and
  framing (`ferjax.faces.photo`), so training, evaluation and live frames share
  one crop; `face_found` is False where the detector missed and the whole image
  was used. Splits: `train` and `validation` (a fixed 10% of the official
  training images), and the official `test` when its images are present.
  """

  VERSION = tfds.core.Version("1.0.0")
  RELEASE_NOTES = {"1.0.0": "Official basic/ layout or DATASET/ re-packaging."}
  MANUAL_DOWNLOAD_INSTRUCTIONS = rafdb.INSTRUCTIONS

  def _info(self) -> tfds.core.DatasetInfo:
    return photo_faces.info(self, "http://www.whdeng.cn/RAF/model1.html")

  def _split_generators(self, dl_manager: tfds.download.DownloadManager):
    images = rafdb.find_images(dl_manager.manual_dir)
    return {split: self._generate_examples([i for i in images if i.split == split])
            for split in rafdb.SPLITS if any(i.split == split for i in images)}

  def _generate_examples(self, images: list[rafdb.RafImage]):
    return photo_faces.examples(images, *rafdb.face_crops(images))
