"""Faces and non-faces cut from real photos, for the model's "not a face" output.

Every patch is a 48x48 grey crop made by `faces.crop_face`, the crop the live
tool and the evaluator hand the classifier. From the WIDER FACE photos:

  detector   what the live detector finds at a low score that matches no
             labelled face (bags, hands, papers, clothing, posters), at several
             input scales and on the mirror image, as the tool's video and photo
             modes run it (one patch per spot: the surest of overlapping boxes)
  background random face-sized squares away from every labelled face
  margin     squares beside, above and below labelled faces (hair, shoulders)
  face       labelled faces (valid, >= `MIN_FACE_PX`), cropped from every distinct
             detection that matches them, as the live tool would see them

plus `ferplus_nf`: the FER2013 rows most of FER+'s annotators call not a face.
Faces carry no emotion label; training gives them the teacher's (`distill_from`).

Splits: the measurement events (`HELD_OUT_EVENTS`, never trained on) are `test`;
of the other photos a hash of the file name puts `VALIDATION_PERCENT` in
`validation`. FER+ rows keep FER2013's split.

    python -m ferjax.data.nonface --wider_dir ~/data/wider_face_indoor \
        --fer2013_npz fer2013.npz --out nonface.npz              # for training
    python -m ferjax.data.nonface --wider_dir ~/data/wider_face_indoor \
        --scales 14 --nomirror --out nonface_tool.npz            # for measuring

Training mines several views (more of the detector's mistakes, each face seen
through several boxes); the face check is measured, and its threshold chosen, on
what the live tool's own detector (one view at its default scale) hands it.
"""

from __future__ import annotations

import hashlib
import os

import numpy as np

from ferjax.data import fer2013
from ferjax.data import npz
from ferjax.data import wider_face
from ferjax.data.errors import DataError

DATASET = "nonface"
HELD_OUT_EVENTS = ("11--Meeting", "29--Students_Schoolkids")
VALIDATION_PERCENT = 10
MIN_FACE_PX = 10          # Labelled faces with a shorter longer side are not cut as faces.
MINING_THRESHOLD = 0.1    # The detector's lowest score when mining its false positives.
MINING_MIN_FACES = (10, 14, 24)  # Its input scales (the live tool's default is 14 px) ...
MINING_MIRROR = True      # ... on the photo and its mirror image.
DUPLICATE_IOU = 0.7       # Mined boxes overlapping this much are one spot.
MAX_MINED_SCORE = 0.7     # Higher-scoring "false positives" are mostly unlabelled faces.
BACKGROUND_PER_PHOTO = 24
MARGINS_PER_FACE = 2
SOURCES = ("detector", "background", "margin", "face", "ferplus_nf")


def photo_split(relative_path: str, event: str) -> str:
  """`test` for the held-out events, else a fixed 10% `validation` by file-name hash."""
  if event in HELD_OUT_EVENTS:
    return "test"
  digest = hashlib.sha256(relative_path.encode()).digest()
  return "validation" if digest[0] * 100 // 256 < VALIDATION_PERCENT else "train"


def _max_overlap(box: np.ndarray, faces: np.ndarray) -> float:
  """Largest IoU of `box` with `faces`, 1.0 where a centre lies inside the other box."""
  from ferjax.faces import geometry  # pylint: disable=g-import-not-at-top
  if not len(faces):
    return 0.0
  overlap = float(geometry.iou(box[None], faces).max())
  cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
  fx, fy = (faces[:, 0] + faces[:, 2]) / 2, (faces[:, 1] + faces[:, 3]) / 2
  inside = ((faces[:, 0] <= cx) & (cx <= faces[:, 2]) & (faces[:, 1] <= cy)
            & (cy <= faces[:, 3])).any()
  holds = ((box[0] <= fx) & (fx <= box[2]) & (box[1] <= fy) & (fy <= box[3])).any()
  return 1.0 if inside or holds else overlap


def _grown(boxes: np.ndarray, factor: float) -> np.ndarray:
  centre = (boxes[:, :2] + boxes[:, 2:]) / 2
  half = (boxes[:, 2:] - boxes[:, :2]) * factor / 2
  return np.concatenate([centre - half, centre + half], axis=1)


def _random_squares(rng: np.random.Generator, width: int, height: int,
                    face_sides: np.ndarray, count: int) -> np.ndarray:
  """`count` squares inside the photo with sides like the photo's faces."""
  if len(face_sides):
    sides = rng.choice(face_sides, count) * rng.uniform(0.7, 1.5, count)
  else:
    sides = np.exp(rng.uniform(np.log(16), np.log(min(width, height) / 3), count))
  sides = np.clip(sides, 12, min(width, height) - 1)
  x0 = rng.uniform(0, width - sides)
  y0 = rng.uniform(0, height - sides)
  return np.stack([x0, y0, x0 + sides, y0 + sides], axis=1)


def _margins(rng: np.random.Generator, faces: np.ndarray) -> np.ndarray:
  """Squares of each face's size beside, above and below it."""
  out = []
  for x0, y0, x1, y1 in faces:
    w, h = x1 - x0, y1 - y0
    shifts = [(-1.4 * w, 0), (1.4 * w, 0), (0, 1.6 * h), (0, -1.3 * h), (0, 2.6 * h)]
    for i in rng.permutation(len(shifts))[:MARGINS_PER_FACE + 1]:
      dx, dy = shifts[i]
      out.append((x0 + dx, y0 + dy, x1 + dx, y1 + dy))
  return np.asarray(out, np.float64).reshape(-1, 4)


def mined_detections(image_bgr: np.ndarray, detectors, mirror: bool = False) -> list:
  """Every detector's detections on the photo (and its mirror image), surest first;
  a box overlapping a surer one by `DUPLICATE_IOU` is dropped."""
  from ferjax import faces as faces_lib  # pylint: disable=g-import-not-at-top
  from ferjax.faces import mirrored  # pylint: disable=g-import-not-at-top
  found = []
  for detector in detectors:
    found += detector.detect(image_bgr)
    if mirror:
      found += mirrored.detect_mirrored(detector, image_bgr)
  if not found:
    return []
  boxes = np.asarray([d.box for d in found], np.float64)
  scores = np.asarray([d.score for d in found], np.float64)
  return [found[i] for i in faces_lib.nms(boxes, scores, DUPLICATE_IOU)]


def photo_patches(image_bgr: np.ndarray, truth: wider_face.ImageFaces, detections: list,
                  rng: np.random.Generator) -> tuple[list[np.ndarray], list[str], list[float]]:
  """(crops, sources, sizes in photo pixels: sqrt(w * h)) of one photo (see the module
  docstring); `detections`: the mining detectors' (`mined_detections`)."""
  from ferjax import faces as faces_lib  # pylint: disable=g-import-not-at-top
  height, width = image_bgr.shape[:2]
  labelled = truth.boxes.astype(np.float64)
  sides = np.maximum(labelled[:, 2] - labelled[:, 0], labelled[:, 3] - labelled[:, 1])
  # Sizes recorded as the detector's scale and the WIDER benchmark measure them.
  sizes_px = np.sqrt((labelled[:, 2] - labelled[:, 0]) * (labelled[:, 3] - labelled[:, 1]))
  valid = ~truth.invalid & (sides >= MIN_FACE_PX)
  keep_out = _grown(labelled, 1.2)
  crops, sources, sizes = [], [], []

  def add(crop, source, size):
    crops.append(crop)
    sources.append(source)
    sizes.append(float(size))

  boxes = np.asarray([d.box for d in detections], np.float64).reshape(-1, 4)
  for detection, box in zip(detections, boxes):
    if detection.score <= MAX_MINED_SCORE and _max_overlap(box, keep_out) < 0.05:
      add(faces_lib.crop_face(image_bgr, detection), "detector",
          np.sqrt((box[2] - box[0]) * (box[3] - box[1])))
  for face, size in zip(labelled[valid], sizes_px[valid]):
    if not len(boxes):
      break
    overlaps = faces_lib.iou(face[None], boxes)[0]
    for match in np.flatnonzero(overlaps >= 0.4):
      add(faces_lib.crop_face(image_bgr, detections[match]), "face", size)
  candidates = [("background", _random_squares(rng, width, height, sides[valid],
                                               BACKGROUND_PER_PHOTO)),
                ("margin", _margins(rng, labelled[valid & (sides >= 16)]))]
  for source, squares in candidates:
    for box in squares:
      inside = box[0] >= 0 and box[1] >= 0 and box[2] <= width and box[3] <= height
      if inside and _max_overlap(box, keep_out) < 0.05:
        add(faces_lib.crop_face(image_bgr, tuple(box)), source, box[2] - box[0])
  return crops, sources, sizes


def wider_arrays(wider_dir: str | os.PathLike, seed: int = 0,
                 scales: tuple[int, ...] = MINING_MIN_FACES, mirror: bool = MINING_MIRROR
                 ) -> dict[str, np.ndarray]:
  """Patches of every photo listed in the folder's ground truth, mined at `scales`."""
  from ferjax import faces as faces_lib  # pylint: disable=g-import-not-at-top
  from ferjax.data.images import read_image  # pylint: disable=g-import-not-at-top
  wider_dir = os.fspath(wider_dir)
  truths = wider_face.read_folder(wider_dir)
  detectors = [faces_lib.create_detector("centerface", score_threshold=MINING_THRESHOLD,
                                         min_face=min_face)
               for min_face in scales]
  rng = np.random.default_rng(seed)
  images, sources, sizes, splits, photos = [], [], [], [], []
  for truth in truths:
    image = read_image(wider_face.image_file(wider_dir, truth), "RGB")[..., ::-1].copy()
    detections = mined_detections(image, detectors, mirror)
    crops, kinds, sides = photo_patches(image, truth, detections, rng)
    images += crops
    sources += kinds
    sizes += sides
    splits += [photo_split(truth.path, truth.event)] * len(crops)
    photos += [truth.path] * len(crops)
  return {"images": np.asarray(images, np.uint8).reshape(-1, 48, 48),
          "sources": np.asarray(sources), "sizes": np.asarray(sizes, np.float32),
          "splits": np.asarray(splits), "photos": np.asarray(photos)}


def ferplus_not_faces(fer2013_npz: str | os.PathLike) -> dict[str, np.ndarray]:
  """FER2013 rows whose FER+ votes (single votes dropped) are mostly `not_face`."""
  with np.load(fer2013_npz, allow_pickle=False) as data:
    if "votes" not in data.files:
      raise DataError(f"{os.fspath(fer2013_npz)}: has no FER+ votes; prepare it with "
                      f"{fer2013.FERPLUS_CSV_NAME} in the manual directory")
    votes, images, splits = data["votes"], data["images"], data["splits"]
  cleaned = np.where(votes > 1, votes, 0)
  not_face = fer2013.VOTE_NAMES.index("not_face")
  rows = np.flatnonzero(2 * cleaned[:, not_face] > cleaned.sum(axis=1))
  return {"images": images[rows], "sources": np.full(len(rows), "ferplus_nf"),
          "sizes": np.full(len(rows), 48, np.float32), "splits": splits[rows],
          "photos": np.asarray([f"fer2013:{r}" for r in rows])}


def prepare(wider_dir: str | os.PathLike, out_path: str | os.PathLike,
            fer2013_npz: str | os.PathLike | None = None,
            scales: tuple[int, ...] = MINING_MIN_FACES, mirror: bool = MINING_MIRROR
            ) -> dict[str, int]:
  """Writes the patches to `out_path` (written beside it and renamed); counts per source."""
  parts = [wider_arrays(wider_dir, scales=scales, mirror=mirror)]
  if fer2013_npz:
    parts.append(ferplus_not_faces(fer2013_npz))
  arrays = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
  arrays["is_face"] = arrays["sources"] == "face"
  arrays["dataset"] = np.asarray(DATASET)
  npz.write(arrays, out_path)
  return {source: int((arrays["sources"] == source).sum()) for source in SOURCES}


def load_split(npz_path: str | os.PathLike, split: str) -> dict[str, np.ndarray]:
  """One split: `image` (n, 48, 48, 1) uint8, `is_face`, `source`, `size`."""
  try:
    with np.load(npz_path, allow_pickle=False) as data:
      arrays = {k: data[k] for k in data.files}
  except (OSError, ValueError, EOFError) as e:
    raise DataError(f"{os.fspath(npz_path)}: not a readable ferjax .npz ({e})") from e
  if str(arrays.get("dataset", "")) != DATASET:
    raise DataError(f"{os.fspath(npz_path)} holds no face/non-face patches; prepare one "
                    "with `python -m ferjax.data.nonface`")
  rows = np.flatnonzero(arrays["splits"] == split)
  return {"image": arrays["images"][rows][..., None], "is_face": arrays["is_face"][rows],
          "source": arrays["sources"][rows], "size": arrays["sizes"][rows]}


def main(argv: list[str]) -> None:
  del argv
  try:
    counts = prepare(FLAGS.wider_dir, FLAGS.out, FLAGS.fer2013_npz,
                     tuple(int(v) for v in FLAGS.scales), FLAGS.mirror)
  except DataError as e:
    raise SystemExit(f"error: {e}") from None
  print(f"wrote {FLAGS.out}: " + ", ".join(f"{k} {v:,}" for k, v in counts.items()))


if __name__ == "__main__":
  from absl import app, flags  # pylint: disable=g-import-not-at-top
  flags.DEFINE_string("wider_dir", None, "WIDER FACE folder: wider_face_val_bbx_gt.txt "
                      "(or the train file) and images/.", required=True)
  flags.DEFINE_string("fer2013_npz", None, "Prepared FER2013 .npz with FER+ votes, for "
                      "FER+'s not-a-face rows.")
  flags.DEFINE_string("out", "nonface.npz", "Output .npz path.")
  flags.DEFINE_list("scales", [str(v) for v in MINING_MIN_FACES], "The detector's input "
                    "scales (min_face, px) to mine at; `14 --nomirror`: the live tool's "
                    "own view, the patches benchmarks.face_verification measures on.")
  flags.DEFINE_bool("mirror", MINING_MIRROR, "Also mine the photos' mirror images.")
  flags.register_validator("scales", lambda v: bool(v) and all(x.isdigit() and int(x) > 0
                                                               for x in v),
                           message="--scales takes face sizes in px, e.g. 10,14,24")
  FLAGS = flags.FLAGS
  app.run(main)
