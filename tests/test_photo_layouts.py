"""KDEF / JAFFE name parsing and the labelled image-folder source."""

import logging
import os

import pytest

from ferjax.data import imagefolder, jaffe, kdef
from ferjax.data.errors import DataError
from ferjax.data.images import read_image
from ferjax.labels import EMOTIONS
from tests import data_fixtures as fx


@pytest.mark.parametrize("name, expected", [
    ("AF01ANS.JPG", ("AF01", "A", "F", "angry", "straight")),
    ("BM35AFHL.JPG", ("BM35", "B", "M", "fear", "half_left")),
    ("am12suFR.jpg", ("AM12", "A", "M", "surprise", "full_right")),
    ("BF07DIHR.JPG", ("BF07", "B", "F", "disgust", "half_right")),
])
def test_kdef_names(name, expected):
  image = kdef.parse_name(os.path.join("KDEF", "X", name))
  assert (image.subject, image.session, image.gender, EMOTIONS[image.label],
          image.angle) == expected


@pytest.mark.parametrize("name", ["AF01ANS.PNG", "CF01ANS.JPG", "AF01XXS.JPG",
                                  "AF01ANX.JPG", "AF1ANS.JPG", "README.txt"])
def test_kdef_rejects_other_names(name):
  assert kdef.parse_name(name) is None


def test_kdef_unknown_angle_and_empty_tree(tmp_path):
  fx.write_kdef_tree(str(tmp_path))
  with pytest.raises(DataError, match="unknown KDEF angles"):
    kdef.find_images(tmp_path, ("sideways",))
  os.makedirs(tmp_path / "empty")
  with pytest.raises(DataError, match="no KDEF images") as error:
    kdef.find_images(tmp_path / "empty")
  assert "kdef.se" in str(error.value)


@pytest.mark.parametrize("name, expected", [
    ("KA.AN1.39.tiff", ("KA", "angry")),
    ("KM.SA5.18.tiff", ("KM", "sad")),
    ("NA.FE1.219.TIFF", ("NA", "fear")),
    ("UY.NE3.68.tif", ("UY", "neutral")),
])
def test_jaffe_names(name, expected):
  image = jaffe.parse_name(name)
  assert (image.subject, EMOTIONS[image.label]) == expected


@pytest.mark.parametrize("name", ["KA.XX1.39.tiff", "KA.AN1.tiff", "KA.AN1.39.png",
                                  "README"])
def test_jaffe_rejects_other_names(name):
  assert jaffe.parse_name(name) is None


def test_jaffe_finds_flat_folder(tmp_path):
  fx.write_jaffe_tree(str(tmp_path))
  assert [os.path.basename(i.path) for i in jaffe.find_images(tmp_path)] == [
      "KA.AN1.39.tiff", "KA.HA2.30.tiff", "NA.FE1.219.tiff", "YM.SU3.60.tiff"]
  with pytest.raises(DataError, match="does not exist"):
    jaffe.find_images(tmp_path / "nowhere")


def test_imagefolder_synonyms_and_skipped_classes(tmp_path, caplog):
  for folder, count in [("Anger", 2), ("happiness", 1), ("afraid", 1), ("Surprised", 1),
                        ("disgusted", 1), ("sadness", 1), ("neutral", 1), ("contempt", 3)]:
    for i in range(count):
      fx.write_image(str(tmp_path / folder / f"{i}.png"), seed=i)
  (tmp_path / "neutral" / "notes.txt").write_text("not an image")
  with caplog.at_level(logging.WARNING):
    folder = imagefolder.scan(tmp_path)
  labels = [EMOTIONS[i.label] for i in folder.images]
  assert sorted(labels) == sorted(["angry", "angry", "happy", "fear", "surprise",
                                   "disgust", "sad", "neutral"])
  assert folder.skipped == {"contempt": 3}
  assert "skipped 3 images" in caplog.text and "contempt (3)" in caplog.text


def test_imagefolder_without_labelled_images(tmp_path):
  fx.write_image(str(tmp_path / "contempt" / "a.png"))
  with pytest.raises(DataError, match="no labelled images"):
    imagefolder.scan(tmp_path)
  with pytest.raises(DataError, match="does not exist"):
    imagefolder.scan(tmp_path / "nowhere")


def test_read_image_names_unreadable_file(tmp_path):
  path = tmp_path / "broken.jpg"
  path.write_bytes(b"not a jpeg")
  with pytest.raises(DataError, match="broken.jpg: unreadable image"):
    read_image(path)
  fx.write_image(str(tmp_path / "ok.png"), size=(5, 4))
  assert read_image(tmp_path / "ok.png").shape == (4, 5, 3)
  assert read_image(tmp_path / "ok.png", "L").shape == (4, 5)
