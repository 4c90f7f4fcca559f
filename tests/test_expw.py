"""ExpW: label.lst parsing, box checks, the photo-hash split, live-framed crops, npz, TFDS."""

import os
import subprocess
import sys

import cv2
import numpy as np
import pytest

from ferjax import faces
from ferjax.data import expw, loader, npz
from ferjax.data.errors import DataError
from ferjax.labels import EMOTIONS

SHARED_EXPW = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "datasets",
                           "expw")
REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Grace Hopper's face in matplotlib's public-domain grace_hopper.jpg (a CenterFace box).
PORTRAIT_FACE = (173.3, 123.0, 355.7, 338.3)
FACE_PX = 96  # Side of a pasted head.

# One photo per split (names chosen so: `split_of` is a fixed hash): a group photo with
# two faces and a box below the photo; a face at the right edge whose box sticks out,
# and a box with no area; a box on a photo with no face.
GROUP, EDGE, NO_FACE = "happy_family_1.jpg", "angry_boss_15.jpg", "sad_teacher_1.jpg"


def _portrait_head(mirror: bool) -> tuple[np.ndarray, tuple[float, ...]]:
  """(FACE_PX square BGR head, its CenterFace box in head pixels)."""
  import matplotlib.cbook  # pylint: disable=g-import-not-at-top
  image = cv2.imread(os.fspath(matplotlib.cbook.get_sample_data(
      "grace_hopper.jpg", asfileobj=False)), cv2.IMREAD_COLOR)
  x0, y0, x1, y1 = PORTRAIT_FACE
  side = 1.8 * np.sqrt((x1 - x0) * (y1 - y0))
  left, top = (x0 + x1 - side) / 2, (y0 + y1 - side) / 2
  scale = FACE_PX / side
  head = cv2.resize(image[int(top):int(top + side), int(left):int(left + side)],
                    (FACE_PX, FACE_PX), interpolation=cv2.INTER_AREA)
  box = ((x0 - left) * scale, (y0 - top) * scale, (x1 - left) * scale, (y1 - top) * scale)
  if mirror:
    head = head[:, ::-1].copy()
    box = (FACE_PX - box[2], box[1], FACE_PX - box[0], box[3])
  return head, box


def _background(width: int, height: int, seed: int) -> np.ndarray:
  """Smooth grey-brown texture with no face in it."""
  rng = np.random.default_rng(seed)
  noise = rng.uniform(60, 200, (height // 16 + 1, width // 16 + 1, 3))
  return cv2.resize(noise, (width, height), interpolation=cv2.INTER_CUBIC).astype(np.uint8)


def _labelled_box(face_box) -> tuple[int, int, int, int]:
  """An ExpW-like box (top, left, right, bottom) around a CenterFace box: larger, higher."""
  x0, y0, x1, y1 = face_box
  size = np.sqrt((x1 - x0) * (y1 - y0)) / 0.84
  cx, cy = (x0 + x1) / 2, (y0 + y1) / 2 - 0.05 * size
  return (int(round(cy - size / 2)), int(round(cx - size / 2)), int(round(cx + size / 2)),
          int(round(cy + size / 2)))


def write_expw_tree(root) -> dict:
  """image/origin/*.jpg + label/label.lst like the official release; returns the truth.

  Truth: {(image_name, face_id): (label, CenterFace box of the pasted face or None)}
  for the faces that must be kept; the `skipped` key counts the rest by reason.
  """
  origin = os.path.join(root, "image", "origin")
  os.makedirs(origin)
  os.makedirs(os.path.join(root, "label"))
  lines, truth = [], {}

  def paste(photo, head_and_box, x, y):
    head, (bx0, by0, bx1, by1) = head_and_box
    part = photo[y:y + FACE_PX, x:x + FACE_PX]  # The head may be cut by the edge.
    part[:] = head[:part.shape[0], :part.shape[1]]
    return (bx0 + x, by0 + y, bx1 + x, by1 + y)

  group = _background(320, 200, 0)
  a = paste(group, _portrait_head(False), 30, 50)
  b = paste(group, _portrait_head(True), 190, 60)
  lines += [f"{GROUP} 0 {' '.join(map(str, _labelled_box(a)))} 81.2 3",
            f"{GROUP} 1 {' '.join(map(str, _labelled_box(b)))} 55.0 6",
            f"{GROUP} 2 210 40 90 260 12.5 1"]  # Below the 200-pixel-high photo.
  truth[(GROUP, 0)], truth[(GROUP, 1)] = (3, a), (6, b)
  edge = _background(200, 160, 1)
  c = paste(edge, _portrait_head(False), 124, 30)
  edge_box = _labelled_box(c)
  assert c[2] < 200 < edge_box[2] < 210  # Sticks out by a few pixels: clipped, kept.
  lines += [f"{EDGE} 0 {' '.join(map(str, edge_box))} 40.0 0",
            f"{EDGE} 1 20 30 30 50 9.0 2"]  # left == right: no area.
  truth[(EDGE, 0)] = (0, c)
  lines.append(f"{NO_FACE} 0 30 40 100 90 20.0 4")
  truth[(NO_FACE, 0)] = (4, None)
  for name, photo in ((GROUP, group), (EDGE, edge), (NO_FACE, _background(160, 120, 2))):
    cv2.imwrite(os.path.join(origin, name), photo, [cv2.IMWRITE_JPEG_QUALITY, 95])
  with open(os.path.join(root, "label", "label.lst"), "w") as f:
    f.write("\n".join(lines) + "\n")
  truth["skipped"] = {"outside": 1, "degenerate": 1}
  return truth


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
  root = tmp_path_factory.mktemp("expw") / "ExpW" / "data"
  return str(root), write_expw_tree(str(root))


@pytest.fixture(scope="module")
def prepared(tree, tmp_path_factory):
  """The tree as an .npz, written by the command line."""
  out = tmp_path_factory.mktemp("expw_npz") / "expw.npz"
  result = subprocess.run(
      [sys.executable, "-m", "ferjax.data.npz", "--dataset", "expw", "--manual_dir",
       os.path.dirname(os.path.dirname(tree[0])), "--out", str(out)],
      capture_output=True, text=True, cwd=REPO_ROOT)
  assert result.returncode == 0, result.stderr[-2000:]
  return str(out), result.stdout


def _expected_faces(truth):
  return {k: v for k, v in truth.items() if k != "skipped"}


# Parsing.

def test_reads_several_faces_per_photo_and_skips_bad_boxes(tree):
  root, truth = tree
  # label/label.lst is looked for below the folder given (here ExpW/data/label/).
  labels = expw.find_faces(os.path.dirname(os.path.dirname(root)))
  assert {(f.image_name, f.face_id): f.label for f in labels.faces} == {
      k: label for k, (label, _) in _expected_faces(truth).items()}
  assert labels.skipped == truth["skipped"]
  assert [f.name for f in labels.faces] == [
      "angry_boss_15.jpg#0", "happy_family_1.jpg#0", "happy_family_1.jpg#1",
      "sad_teacher_1.jpg#0"]
  group = [f for f in labels.faces if f.image_name == GROUP]
  assert group[0].confidence == pytest.approx(81.2)
  assert all(os.path.isfile(f.path) for f in labels.faces)
  assert {f.split for f in labels.faces} == set(expw.SPLITS)
  assert len({f.split for f in group}) == 1  # A photo's faces stay together.


def test_box_sticking_out_is_clipped_to_the_photo(tree):
  root, truth = tree
  edge = next(f for f in expw.find_faces(root).faces if f.image_name == EDGE)
  top, left, right, bottom = _labelled_box(truth[(EDGE, 0)][1])
  assert right > 200 and edge.box == (left, top, 200, bottom)  # The photo is 200 wide.


@pytest.mark.parametrize("box, expected", [
    ((10, 20, 60, 70), (20, 10, 60, 70)),             # inside: unchanged
    ((-4, 20, 60, 70), (20, 0, 60, 70)),              # a little out: clipped
    ((10, 80, 110, 70), (80, 10, 100, 70)),           # 1/3 out: clipped
    ((10, 70, 170, 70), "outside"),                   # 2/3 out
    ((-90, 20, 60, -30), "outside"),                  # wholly out
    ((10, 60, 60, 70), "degenerate"),                 # right == left
    ((70, 20, 60, 10), "degenerate"),                 # bottom < top
])
def test_clip_box(box, expected):
  top, left, right, bottom = box
  assert expw.clip_box(top, left, right, bottom, width=100, height=80) == expected


def _with_line(tree, tmp_path, line):
  root, _ = tree
  copy = tmp_path / "copy"
  os.makedirs(copy / "label")
  os.symlink(os.path.join(root, "image"), copy / "image")
  with open(os.path.join(root, "label", "label.lst")) as f:
    text = f.read()
  (copy / "label" / "label.lst").write_text(text + line + "\n")
  return copy, len(text.splitlines()) + 1


@pytest.mark.parametrize("line, message", [
    (f"{GROUP} 3 10 10 50 50 30.0 7", r"expression_label '7' is not an ExpW label"),
    (f"{GROUP} 3 10 10 50 50 30.0 happy", r"expression_label 'happy' is not an ExpW"),
    (f"{GROUP} 3 10 10 50 50 30.0 -1", r"expression_label '-1' is not an ExpW label"),
    (f"{GROUP} 3 10 10 50 50 3", r"expected 8 fields \(image_name .*\), got 7"),
    (f"{GROUP} 3 10 ten 50 50 30.0 1", r"face_box_left 'ten' is not a number"),
    (f"{GROUP} x 10 10 50 50 30.0 1", r"face_id_in_image 'x' is not a whole number"),
    ("missing_photo_9.jpg 0 10 10 50 50 30.0 1", r"photo missing_photo_9.jpg is listed"),
])
def test_bad_line_is_a_data_error_naming_file_and_line(tree, tmp_path, line, message):
  copy, line_number = _with_line(tree, tmp_path, line)
  with pytest.raises(DataError, match=rf"label.lst:{line_number}: {message}") as error:
    expw.find_faces(copy)
  assert "\n" not in str(error.value)


def test_repeated_face_is_read_once(tree, tmp_path):
  copy, _ = _with_line(tree, tmp_path, f"{GROUP} 1 10 10 50 50 30.0 2")
  labels = expw.find_faces(copy)
  assert labels.skipped["duplicate"] == 1
  assert next(f for f in labels.faces if f.name == f"{GROUP}#1").label == 6  # The first.


def test_missing_download_says_what_to_fetch(tmp_path):
  with pytest.raises(DataError, match="does not exist.\n.*ExpW is not downloaded"):
    expw.find_faces(tmp_path / "nowhere")
  (tmp_path / "empty").mkdir()
  with pytest.raises(DataError, match=r"no ExpW label file \(label/label.lst\)") as error:
    expw.find_faces(tmp_path / "empty")
  assert "non-commercial research" in str(error.value)


# Splits.

def test_photo_stem_of_photos_and_one_face_files():
  assert expw.photo_stem("angry_actor_120.jpg") == "angry_actor_120"
  assert expw.photo_stem("angry_actor_120_1.jpg") == "angry_actor_120"
  assert expw.photo_stem("angry_African_97_0.jpg") == "angry_African_97"
  assert expw.photo_stem("image/origin/awe_wife_3.jpg") == "awe_wife_3"


def test_split_is_fixed_by_the_photo_and_about_80_10_10():
  photos = [f"{q}_{i}.jpg" for q in ("angry_actor", "happy_family", "sad_boy")
            for i in range(2000)]
  splits = [expw.split_of(p) for p in photos]
  shares = {s: splits.count(s) / len(photos) for s in expw.SPLITS}
  assert 0.78 < shares["train"] < 0.82
  assert 0.08 < shares["validation"] < 0.12 and 0.08 < shares["test"] < 0.12
  # Every face file of a photo goes where the photo goes.
  for photo, split in zip(photos[:300], splits):
    stem = photo[:-len(".jpg")]
    assert {expw.split_of(f"{stem}_{face}.jpg") for face in range(3)} == {split}
  # Decided by the name alone: a shuffled part of the list splits the same way.
  order = np.random.default_rng(0).permutation(len(photos))[:500]
  assert [expw.split_of(photos[i]) for i in order] == [splits[i] for i in order]


# Faces.

def test_best_match_takes_the_most_overlapping_detection():
  box = (100, 100, 200, 200)
  near = faces.Detection((110, 120, 200, 215), 0.6)
  other = faces.Detection((150, 150, 250, 250), 0.99)
  far = faces.Detection((300, 100, 400, 200), 0.99)
  assert expw.best_match([other, near, far], box) is near
  assert expw.best_match([other, far], box) is None  # IoU 0.14 < MIN_IOU
  assert expw.best_match([], box) is None


def test_region_is_the_box_grown_twice_within_the_photo():
  assert expw.region_of((40, 50, 60, 80), 200, 100) == (30, 35, 70, 95)
  assert expw.region_of((0, 10, 30, 30), 200, 25) == (0, 0, 45, 25)


def test_crops_are_the_live_framing_of_the_matching_face(tree):
  root, truth = tree
  labels = expw.find_faces(root)
  crops, found = expw.face_crops(labels.faces)
  assert crops.shape == (4, 48, 48) and crops.dtype == np.uint8
  finders = expw.create_detectors()
  for face, crop, ok in zip(labels.faces, crops, found):
    photo = cv2.imread(face.path)
    _, pasted = truth[(face.image_name, face.face_id)]
    detection = expw.find_face(photo, face.box, finders)
    if pasted is None:  # No face in the photo: the labelled box is cut.
      assert detection is None and not ok
      np.testing.assert_array_equal(crop, faces.crop_face(
          photo, face.box, faces.Framing(*expw.BOX_FRAMING), roll_degrees=0.0))
      continue
    # The detector's box of this face (not its neighbour's), cut as live cuts it.
    assert ok and faces.iou([detection.box], [pasted])[0, 0] > 0.8, face.name
    np.testing.assert_array_equal(crop, faces.crop_face(photo, detection))


def test_fallback_framing_is_close_to_the_detectors():
  """A labelled box cut with BOX_FRAMING covers what the matched detection's crop covers."""
  face_box = (100.0, 80.0, 180.0, 180.0)  # CenterFace-shaped: 1.25x taller than wide.
  x0, y0, x1, y1 = face_box
  size = np.sqrt((x1 - x0) * (y1 - y0)) / 0.841
  cx, cy = (x0 + x1) / 2 - 0.019 * size, (y0 + y1) / 2 - 0.046 * size
  labelled = (cx - size / 2, cy - size / 2, cx + size / 2, cy + size / 2)
  want = faces.crop_square(face_box, faces.FRAMINGS["centerface"])
  got = faces.crop_square(labelled, faces.Framing(*expw.BOX_FRAMING))
  np.testing.assert_allclose(got, want, atol=0.01 * want[2])


# The .npz, the loader, evaluation and training.

def test_npz_round_trip(tree, prepared):
  root, truth = tree
  path, stdout = prepared
  assert "train 2, validation 1, test 1" in stdout
  assert "face found by the detector in 75.0%" in stdout
  labels = expw.find_faces(root)
  crops, _ = expw.face_crops(labels.faces)
  by_name = dict(zip((f.name for f in labels.faces), crops))
  seen = {}
  for split in expw.SPLITS:
    arrays = loader.load_arrays("expw", split, npz_path=path)
    assert arrays["image"].shape[1:] == (48, 48, 1) and arrays["image"].dtype == np.uint8
    for name, image, label in zip(arrays["name"].tolist(), arrays["image"],
                                  arrays["label"].tolist()):
      assert expw.split_of(name.split("#")[0]) == split
      np.testing.assert_array_equal(image[..., 0], by_name[name])
      seen[name] = label
  assert seen == {f"{n}#{i}": label for (n, i), (label, _) in _expected_faces(truth).items()}
  with np.load(path) as data:
    assert str(data["dataset"]) == "expw" and data["face_found"].sum() == 3
  with pytest.raises(DataError, match="holds expw, not rafdb"):
    npz.load_split(path, "train", "rafdb")
  with pytest.raises(DataError, match="holds expw, not fer2013"):
    npz.load_split(path, "train", "fer2013")


def test_evaluation_reads_the_npz(prepared):
  from ferjax.evaluation import evaluator  # pylint: disable=g-import-not-at-top
  from ferjax.inference import (DEFAULT_MODEL_DIR,  # pylint: disable=g-import-not-at-top
                                ExpressionClassifier)
  assert "expw" in evaluator.DATASETS
  report = evaluator.evaluate_model(ExpressionClassifier(DEFAULT_MODEL_DIR), "expw", "train",
                                    npz_path=prepared[0], progress=False)
  assert report["dataset"] == "expw" and report["num_examples"] == 2
  assert report["true_share"]["happy"] == report["true_share"]["neutral"] == 0.5


def test_training_finds_the_expw_npz_among_others(prepared, tiny_fer_npz):
  from ferjax.train import config_lib, input_pipeline  # pylint: disable=g-import-not-at-top
  config = config_lib.base_config()
  config.update(dataset="expw", num_classes=7, npz_path=f"{tiny_fer_npz},{prepared[0]}")
  config_lib.validate(config)
  train = input_pipeline.load_dataset_split(config, config_lib.run_spec(config), "expw", "train")
  assert train["image"].shape == (2, 48, 48, 1)
  assert sorted(train["label"].tolist()) == [EMOTIONS.index("happy"),
                                             EMOTIONS.index("neutral")]


def test_tfds_builder_is_registered_and_matches_the_npz(tree, prepared, tmp_path):
  import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top
  import ferjax.datasets  # noqa: F401  # pylint: disable=g-import-not-at-top,unused-import
  assert "expw" in tfds.list_builders()
  root, _ = tree
  for split in expw.SPLITS:
    dataset = loader.load_tfds("expw", split, data_dir=str(tmp_path / "data"),
                               manual_dir=os.path.dirname(root))
    from_npz = npz.load_split(prepared[0], split, "expw")
    examples = sorted(tfds.as_numpy(dataset), key=lambda e: e["name"])
    assert [e["name"].decode() for e in examples] == sorted(from_npz["name"].tolist())
    order = np.argsort(from_npz["name"])
    for example, i in zip(examples, order):
      np.testing.assert_array_equal(example["image"], from_npz["image"][i])
      assert example["label"] == from_npz["label"][i]
      assert example["face_found"] == (example["name"].decode() != f"{NO_FACE}#0")


def test_builder_without_download_prints_instructions(tmp_path):
  with pytest.raises(DataError, match="ExpW is not downloaded automatically"):
    loader.load_tfds("expw", "train", data_dir=str(tmp_path / "data"),
                     manual_dir=str(tmp_path / "nowhere"))


# The real folder beside the repository.

@pytest.mark.skipif(not os.path.isdir(SHARED_EXPW),
                    reason="ExpW not found in ../shared/datasets/expw")
def test_real_expw_counts_match_its_readme():
  labels = expw.find_faces(SHARED_EXPW)
  assert len(labels.faces) == 5_481 and labels.skipped == {}
  counts = np.bincount([f.label for f in labels.faces], minlength=7)
  assert dict(zip(EMOTIONS, counts.tolist())) == {
      "angry": 733, "disgust": 782, "fear": 766, "happy": 811, "sad": 781,
      "surprise": 795, "neutral": 813}
  by_photo = {}
  for face in labels.faces:
    by_photo.setdefault(expw.photo_stem(face.image_name), set()).add(face.split)
  assert all(len(splits) == 1 for splits in by_photo.values())
  assert len(by_photo) < len(labels.faces)  # Some photos hold several labelled faces.
