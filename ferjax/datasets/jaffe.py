"""TFDS builder for JAFFE (Lyons, Kamachi & Gyoba, 1998)."""

from __future__ import annotations

import tensorflow_datasets as tfds

from ferjax.data import jaffe
from ferjax.data.images import read_image
from ferjax.labels import EMOTIONS


class Jaffe(tfds.core.GeneratorBasedBuilder):
  """JAFFE: 213 photos of 10 Japanese women, 7 expressions, 256x256 grayscale.

  The whole set is one `test` split (it is used for cross-dataset
  evaluation). Images show head and shoulders: crop the face before classifying.
  """

  VERSION = tfds.core.Version("1.0.0")
  RELEASE_NOTES = {"1.0.0": "Official flat folder of .tiff files."}
  MANUAL_DOWNLOAD_INSTRUCTIONS = jaffe.INSTRUCTIONS

  def _info(self) -> tfds.core.DatasetInfo:
    return self.dataset_info_from_configs(
        features=tfds.features.FeaturesDict({
            "image": tfds.features.Image(shape=(None, None, 1)),
            "label": tfds.features.ClassLabel(names=EMOTIONS),
            "subject": tfds.features.Text(),
            "filename": tfds.features.Text(),
        }),
        supervised_keys=("image", "label"),
        homepage="https://zenodo.org/record/3451524",
    )

  def _split_generators(self, dl_manager: tfds.download.DownloadManager):
    return {"test": self._generate_examples(jaffe.find_images(dl_manager.manual_dir))}

  def _generate_examples(self, images: list[jaffe.JaffeImage]):
    for image in images:
      yield image.key, {
          "image": read_image(image.path, "L")[..., None], "label": image.label,
          "subject": image.subject, "filename": image.key}
