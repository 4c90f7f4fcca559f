"""TFDS builder for KDEF (Lundqvist, Flykt & Öhman, 1998)."""

from __future__ import annotations

import io

import tensorflow_datasets as tfds
from PIL import Image

from ferjax.data import kdef
from ferjax.data.images import read_image
from ferjax.labels import EMOTIONS


class KdefConfig(tfds.core.BuilderConfig):
  """Which camera angles to include."""

  def __init__(self, *, angles: tuple[str, ...], **kwargs):
    super().__init__(**kwargs)
    self.angles = angles


class Kdef(tfds.core.GeneratorBasedBuilder):
  """KDEF: 70 actors, 7 expressions, 2 sessions, 5 angles; 562x762 colour photos.

  The whole set is one `test` split (it is used for cross-dataset
  evaluation). Images are full portraits: crop the face before classifying.
  """

  VERSION = tfds.core.Version("1.0.0")
  RELEASE_NOTES = {"1.0.0": "Official KDEF folder tree."}
  MANUAL_DOWNLOAD_INSTRUCTIONS = kdef.INSTRUCTIONS
  BUILDER_CONFIGS = [
      KdefConfig(name="straight", angles=("straight",),
                 description="Frontal photos only (980 images)."),
      KdefConfig(name="all_angles", angles=tuple(kdef.ANGLES.values()),
                 description="All five angles (4,900 images)."),
  ]
  DEFAULT_CONFIG_NAME = "straight"

  def _info(self) -> tfds.core.DatasetInfo:
    return self.dataset_info_from_configs(
        features=tfds.features.FeaturesDict({
            "image": tfds.features.Image(shape=(None, None, 3), encoding_format="jpeg"),
            "label": tfds.features.ClassLabel(names=EMOTIONS),
            "subject": tfds.features.Text(),
            "session": tfds.features.Text(),
            "gender": tfds.features.Text(),
            "angle": tfds.features.Text(),
            "filename": tfds.features.Text(),
        }),
        supervised_keys=("image", "label"),
        homepage="https://kdef.se",
    )

  def _split_generators(self, dl_manager: tfds.download.DownloadManager):
    images = kdef.find_images(dl_manager.manual_dir, self.builder_config.angles)
    return {"test": self._generate_examples(images)}

  def _generate_examples(self, images: list[kdef.KdefImage]):
    for image in images:
      pixels = read_image(image.path, "RGB")  # validates; names the file if broken
      with open(image.path, "rb") as f:
        data = f.read()
      if not data.startswith(b"\xff\xd8"):  # not a JPEG: re-encode
        buffer = io.BytesIO()
        Image.fromarray(pixels).save(buffer, format="JPEG", quality=95)
        data = buffer.getvalue()
      yield image.key, {
          "image": data, "label": image.label, "subject": image.subject,
          "session": image.session, "gender": image.gender, "angle": image.angle,
          "filename": image.key}
