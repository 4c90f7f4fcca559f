"""The builders over the real FER2013 archive, when it is present beside the repo."""

import collections
import csv
import io
import os
import tarfile

import numpy as np
import pytest
import tensorflow_datasets as tfds

import ferjax.datasets  # noqa: F401  # pylint: disable=unused-import  # registers the builders
from ferjax.data import fer2013, npz
from tests.session_cache import once_per_session

REAL_DIR = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "datasets", "fer2013")
pytestmark = pytest.mark.skipif(
    not os.path.isfile(os.path.join(REAL_DIR, fer2013.ARCHIVE_NAME)),
    reason=f"real FER2013 archive not found in {os.path.abspath(REAL_DIR)}")


def _csv_counts_by_usage():
  """Class counts per Usage, read straight from the archive with the csv module."""
  counts = collections.defaultdict(collections.Counter)
  with tarfile.open(os.path.join(REAL_DIR, fer2013.ARCHIVE_NAME)) as tar:
    member = tar.getmember("fer2013/fer2013.csv")
    reader = csv.DictReader(io.TextIOWrapper(tar.extractfile(member), encoding="utf-8"))
    for row in reader:
      counts[row["Usage"]][int(row["emotion"])] += 1
  return counts


@pytest.fixture(autouse=True)
def parse_once(monkeypatch, fer2013_table):
  """The builders and npz.prepare below reuse the session's parse of the real CSV."""
  parse = fer2013.read_fer2013

  def read_fer2013(manual_dir):
    if os.path.realpath(os.fspath(manual_dir)) == os.path.realpath(REAL_DIR):
      return fer2013_table
    return parse(manual_dir)

  monkeypatch.setattr(fer2013, "read_fer2013", read_fer2013)


def _download_config():
  return tfds.download.DownloadConfig(manual_dir=REAL_DIR)


@pytest.fixture
def data_dir(tmp_path_factory):
  """A TFDS data dir where both builders prepared the real archive: once per session."""

  def build(folder):
    for name in ("fer2013", "ferplus"):
      tfds.builder(name, data_dir=str(folder)).download_and_prepare(
          download_config=_download_config())
    return str(folder)

  return once_per_session(tmp_path_factory, "tfds_real_fer2013", build)


def _load(name, split, data_dir):
  return tfds.as_numpy(tfds.load(
      name, split=split, data_dir=data_dir, batch_size=-1,
      download_and_prepare_kwargs={"download_config": _download_config()}))


@pytest.mark.slow(14)  # Both builders prepare the whole archive (`data_dir`).
def test_tfds_load_matches_the_csv(data_dir):
  expected = _csv_counts_by_usage()
  sizes = {"train": 28709, "validation": 3589, "test": 3589}
  for usage, split in fer2013.SPLITS.items():
    data = _load("fer2013", split, data_dir)
    assert len(data["label"]) == sizes[split]
    counts = np.bincount(data["label"], minlength=7)
    assert counts.tolist() == [expected[usage][c] for c in range(7)]
    assert data["image"].shape == (sizes[split], 48, 48, 1)


def test_numpy_loader_matches_tfds(data_dir, fer2013_npz):
  path = fer2013_npz  # npz.prepare of the real archive.
  from_tfds = _load("fer2013", "test", data_dir)
  from_npz = npz.load_split(path, "test")
  order = np.argsort(from_tfds["row"])
  np.testing.assert_array_equal(from_tfds["row"][order], from_npz["row"])
  np.testing.assert_array_equal(from_tfds["image"][order], from_npz["image"])
  np.testing.assert_array_equal(from_tfds["label"][order], from_npz["label"])
  ferplus_tfds = _load("ferplus", "test", data_dir)
  ferplus_npz = npz.load_split(path, "test", "ferplus")
  assert 3000 < len(ferplus_tfds["label"]) < 3589  # FER+ drops unclear and non-face rows
  np.testing.assert_array_equal(np.sort(ferplus_tfds["row"]), ferplus_npz["row"])
