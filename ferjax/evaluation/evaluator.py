"""Batch evaluation of an exported model on a labelled dataset.

Used by `tools/eval.py`. FER2013 / FER+ images are already 48x48 faces, and
RAF-DB and ExpW are prepared as the live tool's 48x48 crops; KDEF, JAFFE and image
folders are photos, so the largest detected face is cropped with `ferjax.faces`
(the same detector and crop as the live tool), and the whole image is used when no
face is found (counted as a fallback).
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Callable, Iterator

import cv2
import numpy as np
from tqdm import tqdm

from ferjax import calibration
from ferjax.evaluation import metrics
from ferjax.data import imagefolder, loader
from ferjax.data.errors import DataError
from ferjax.data.images import read_image
from ferjax.faces import pixels

DATASETS = ("fer2013", "ferplus", "rafdb", "expw", "kdef", "jaffe", "imagefolder")
FACE_DATASETS = ("fer2013", "ferplus", "rafdb", "expw")  # Stored as 48x48 face crops.
PHOTO_DATASETS = ("kdef", "jaffe", "imagefolder")
TTA_MODES = ("none", "flip", "ten_crop")


@dataclasses.dataclass
class FaceStats:
  """What happened on the way from the dataset to 48x48 faces."""
  no_face_fallbacks: int = 0
  unreadable: list[str] = dataclasses.field(default_factory=list)
  skipped_labels: int = 0  # labels the model has no class for (e.g. contempt)
  skipped_folders: dict[str, int] = dataclasses.field(default_factory=dict)
  read_from: str = ""  # npz, tfds, files (downloaded, no TensorFlow) or folder


class PhotoCropper:
  """Largest detected face of a photo, cropped like the live tool does (`faces.photo`)."""

  def __init__(self, detector_name: str, stats: FaceStats):
    from ferjax.faces import photo  # pylint: disable=g-import-not-at-top
    self._faces = photo.PhotoFaces(detector_name)
    self._stats = stats

  def __call__(self, image: np.ndarray) -> np.ndarray:
    """RGB (H, W, 3) or grey (H, W[, 1]) uint8 -> (48, 48) uint8 face."""
    bgr = pixels.to_bgr(image, rgb=True)
    face, found = self._faces.crop(bgr)
    self._stats.no_face_fallbacks += not found
    return face


def _photo_files(dataset: str, split: str, manual_dir: str | None) -> list[tuple[str, int]]:
  """(path, label) of a photo dataset's split, read from its downloaded files."""
  from ferjax.data import jaffe, kdef  # pylint: disable=g-import-not-at-top
  if not manual_dir:
    raise DataError(f"{dataset} without TensorFlow Datasets is read from the downloaded "
                    "files: pass --manual_dir")
  if split != "test":
    raise DataError(f"{dataset}: the whole set is one 'test' split (got {split!r})")
  manual_dir = os.path.expanduser(manual_dir)
  images = kdef.find_images(manual_dir) if dataset == "kdef" else jaffe.find_images(manual_dir)
  return [(image.path, image.label) for image in images]


def _as_stored(dataset: str, path: str) -> np.ndarray:
  """A photo's pixels as its TFDS builder stores them, so both readers see the same:
  JAFFE grey and lossless; KDEF colour, JPEG bytes as they are and any other format
  encoded as JPEG (quality 95) first."""
  if dataset == "jaffe":
    return read_image(path, "L")[..., None]
  pixels = read_image(path, "RGB")
  with open(path, "rb") as f:
    if f.read(2) == b"\xff\xd8":
      return pixels
  ok, data = cv2.imencode(".jpg", pixels[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, 95])
  if not ok:
    raise DataError(f"{path}: cannot be re-encoded as JPEG")
  return cv2.imdecode(data, cv2.IMREAD_COLOR)[..., ::-1]


def iter_faces(dataset: str, split: str, stats: FaceStats, *, data_dir: str | None,
               manual_dir: str | None, npz_path: str | None = None,
               detector: str = "default", reader: str = "auto"
               ) -> tuple[int, Iterator[tuple[np.ndarray, int]]]:
  """(number of examples, iterator of (48x48 uint8 face, label)) for a dataset split.

  `reader`: how datasets without a --npz are read (`loader.READERS`): the TFDS
  builders, or the downloaded files by the same parsers (the default where
  TensorFlow is not installed).
  """
  if dataset not in DATASETS:
    raise DataError(f"unknown dataset {dataset!r}; choose from {', '.join(DATASETS)}")
  files = dataset != "imagefolder" and not npz_path and loader.use_files(reader)
  stats.read_from = ("npz" if npz_path else "folder" if dataset == "imagefolder"
                     else "files" if files else "tfds")
  if dataset in FACE_DATASETS:
    arrays = loader.load_arrays(dataset, split, data_dir=data_dir, manual_dir=manual_dir,
                                npz_path=npz_path, reader=reader)
    return len(arrays["label"]), zip(arrays["image"][..., 0], arrays["label"].tolist())
  if dataset == "imagefolder":
    if not data_dir:
      raise DataError("--dataset imagefolder needs --data_dir DIR (DIR/<emotion>/*.jpg)")
    folder = imagefolder.scan(data_dir)
    stats.skipped_folders = dict(folder.skipped)
    crop = PhotoCropper(detector, stats)

    def folder_faces():
      for item in folder.images:
        try:
          image = read_image(item.path, "RGB")
        except DataError:
          stats.unreadable.append(item.path)
          continue
        yield crop(image), item.label
    return len(folder.images), folder_faces()
  if files:
    photos = _photo_files(dataset, split, manual_dir)
    crop = PhotoCropper(detector, stats)
    return len(photos), ((crop(_as_stored(dataset, path)), label) for path, label in photos)
  import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top
  ds = loader.load_tfds(dataset, split, data_dir=data_dir, manual_dir=manual_dir)
  crop = PhotoCropper(detector, stats)
  return (int(ds.cardinality().numpy()),
          ((crop(e["image"]), int(e["label"])) for e in tfds.as_numpy(ds)))


def shrink_face(face: np.ndarray, face_px: int) -> np.ndarray:
  """A 48x48 face as a camera would see it at `face_px` pixels, enlarged back to 48.

  Area-averaged down-sampling, then bilinear enlargement: what the live tool's crop
  does to a small face.
  """
  size = face.shape[0]
  if face_px >= size:
    return face
  small = cv2.resize(face, (face_px, face_px), interpolation=cv2.INTER_AREA)
  return cv2.resize(small, (size, size), interpolation=cv2.INTER_LINEAR)


def roll_face(face: np.ndarray, degrees: float) -> np.ndarray:
  """A face as it looks with the head tilted by `degrees` (counter-clockwise) in the crop.

  Rotation about the crop centre, the corners filled by repeating the border: the
  crop a detector box gives when the head rolls and nothing aligns it.
  """
  if not degrees:
    return face
  size = face.shape[0]
  matrix = cv2.getRotationMatrix2D(((size - 1) / 2, (size - 1) / 2), degrees, 1.0)
  return cv2.warpAffine(face, matrix, (size, size), flags=cv2.INTER_LINEAR,
                        borderMode=cv2.BORDER_REPLICATE)


def degrade_face(face: np.ndarray, face_px: int = 0, roll_degrees: float = 0.0) -> np.ndarray:
  """`face` tilted by `roll_degrees`, then seen at `face_px` pixels (0: as is)."""
  face = roll_face(face, roll_degrees)
  return shrink_face(face, face_px) if face_px else face


def ten_crops(faces: np.ndarray, crop: int = 42) -> np.ndarray:
  """(n, 48, 48) -> (10, n, 48, 48): 4 corners + centre of size `crop`, and their flips."""
  size = faces.shape[1]
  offsets = [(0, 0), (0, size - crop), (size - crop, 0), (size - crop, size - crop),
             ((size - crop) // 2, (size - crop) // 2)]
  views = []
  for y, x in offsets:
    patch = faces[:, y:y + crop, x:x + crop]
    views.append(np.stack([cv2.resize(p, (size, size), interpolation=cv2.INTER_LINEAR)
                           for p in patch]))
  views += [v[:, :, ::-1] for v in views]
  return np.stack(views)


def predict_with_tta(predict: Callable[[np.ndarray], np.ndarray], faces: np.ndarray,
                     mode: str) -> np.ndarray:
  """Class probabilities averaged over the test-time views of `mode`."""
  if mode == "none":
    return predict(faces)
  if mode == "flip":
    views = np.stack([faces, faces[:, :, ::-1]])
  elif mode == "ten_crop":
    views = ten_crops(faces)
  else:
    raise ValueError(f"unknown TTA mode {mode!r}; choose from {', '.join(TTA_MODES)}")
  n = len(faces)
  return predict(views.reshape(-1, *faces.shape[1:])).reshape(len(views), n, -1).mean(0)


def _report(labels: np.ndarray, probabilities: np.ndarray, class_names: list[str]) -> dict:
  predictions = probabilities.argmax(-1)
  confusion = metrics.confusion_matrix(labels, predictions, len(class_names))
  report = metrics.classification_report(confusion, class_names)
  counts = np.bincount(predictions, minlength=len(class_names))
  report["predicted_share"] = {
      name: round(float(c) / len(predictions), 4) for name, c in zip(class_names, counts)}
  report["true_share"] = {
      name: round(float(c) / len(labels), 4)
      for name, c in zip(class_names, np.bincount(labels, minlength=len(class_names)))}
  report["confusion"] = {
      "class_names": class_names, "counts": confusion.tolist(),
      "normalised": np.round(metrics.normalise_rows(confusion), 6).tolist()}
  return report


def evaluate_model(classifier, dataset: str, split: str, *, data_dir: str | None = None,
             manual_dir: str | None = None, npz_path: str | None = None,
             detector: str = "default", reader: str = "auto", tta: str = "none",
             batch_size: int = 256,
             progress: bool = True, face_px: int = 0, roll_degrees: float = 0.0) -> dict:
  """Evaluates `classifier` (an `ExpressionClassifier`) and returns the report dict.

  `face_px` > 0 first shrinks every face to that many pixels (`shrink_face`);
  `roll_degrees` tilts every face before that (`roll_face`).
  """
  if tta not in TTA_MODES:
    raise ValueError(f"unknown TTA mode {tta!r}; choose from {', '.join(TTA_MODES)}")
  class_names = list(classifier.class_names)
  stats = FaceStats()
  start = time.perf_counter()
  total, pairs = iter_faces(dataset, split, stats, data_dir=data_dir,
                            manual_dir=manual_dir, npz_path=npz_path, detector=detector,
                            reader=reader)
  faces, labels, plain, augmented = [], [], [], []

  def flush():
    if not faces:
      return
    batch = np.stack(faces)
    plain.append(classifier.predict(batch, calibrated=False))
    if tta != "none":
      augmented.append(predict_with_tta(classifier.predict, batch, tta))
    faces.clear()

  for face, label in tqdm(pairs, total=total, desc=f"{dataset}/{split}", unit="img",
                          disable=not progress, leave=False):
    if label >= len(class_names):
      stats.skipped_labels += 1
      continue
    faces.append(degrade_face(face, face_px, roll_degrees))
    labels.append(label)
    if len(faces) == batch_size:
      flush()
  flush()
  if not labels:
    raise DataError(f"{dataset}/{split}: no images could be evaluated")
  seconds = time.perf_counter() - start
  labels_array = np.asarray(labels)
  raw = np.concatenate(plain)
  bias = getattr(classifier, "class_bias", None)
  calibrated = calibration.apply_temperature(raw, classifier.temperature, bias)
  report = {"dataset": dataset, "split": split, "read_from": stats.read_from,
            "num_examples": len(labels),
            "face_px": face_px or None, "roll_degrees": roll_degrees or None,
            **_report(labels_array, calibrated, class_names),
            "calibration": {
                "temperature": classifier.temperature,
                "class_bias": None if bias is None else [round(float(b), 4) for b in bias],
                "ece": round(calibration.expected_calibration_error(
                    calibrated, labels_array), 4),
                "ece_uncalibrated": round(calibration.expected_calibration_error(
                    raw, labels_array), 4)},
            "no_face_fallbacks": stats.no_face_fallbacks,
            "unreadable": {"count": len(stats.unreadable), "examples": stats.unreadable[:5]},
            "skipped_labels": stats.skipped_labels,
            "skipped_folders": stats.skipped_folders,
            "model": classifier.model_dir, "backend": classifier.backend,
            "seconds": round(seconds, 3),
            "images_per_second": round(len(labels) / seconds, 1)}
  if tta != "none":
    report["tta"] = {"mode": tta,
                     **_report(labels_array, np.concatenate(augmented), class_names)}
  return report
