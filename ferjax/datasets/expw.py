"""TFDS builder for ExpW (Expression in-the-Wild; Zhang, Luo, Loy & Tang, IJCV 2018)."""

from __future__ import annotations

import tensorflow_datasets as tfds

from ferjax.data import expw
from ferjax.datasets import photo_faces


class Expw(tfds.core.GeneratorBasedBuilder):
  """ExpW: faces in web photos (91,793 in the full release), 7 emotions.

  Each `image` is the 48x48 grey face cut with the live tool's detector and
  framing: the detection matching the labelled box (`ferjax.data.expw`), so
  training, evaluation and live frames share one crop; `face_found` is False where
  no detection matched and the labelled box was cut. `name` is
  `<image_name>#<face id>`. ExpW has no official split: `train` / `validation` /
  `test` hold 80% / 10% / 10% of the photos, chosen by a hash of the photo's name.
  """

  VERSION = tfds.core.Version("1.0.0")
  RELEASE_NOTES = {"1.0.0": "Official image/origin + label/label.lst layout."}
  MANUAL_DOWNLOAD_INSTRUCTIONS = expw.INSTRUCTIONS

  def _info(self) -> tfds.core.DatasetInfo:
    return photo_faces.info(
        self, "http://mmlab.ie.cuhk.edu.hk/projects/socialrelation/index.html")

  def _split_generators(self, dl_manager: tfds.download.DownloadManager):
    faces = expw.find_faces(dl_manager.manual_dir).faces
    return {split: self._generate_examples([f for f in faces if f.split == split])
            for split in expw.SPLITS if any(f.split == split for f in faces)}

  def _generate_examples(self, faces: list[expw.ExpwFace]):
    return photo_faces.examples(faces, *expw.face_crops(faces))
