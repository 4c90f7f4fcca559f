"""The live pipeline with stand-in detectors: the detection worker, too-small faces, photos,
only verified faces reported, ignored regions."""

import itertools
import threading
import time

import cv2
import numpy as np
import pytest

from ferjax import faces as faces_lib
from ferjax.faces.geometry import Detection
from ferjax.labels import EMOTIONS
from ferjax.live.face_quality import TOO_SMALL
from ferjax.live.pipeline import UNFOLLOW_STILL_S, Hindsight, LivePipeline, in_frame
from ferjax.live.sources import Frame

SIZE = 40  # Side of the moving face square, px.


class _CountingClassifier:
  """Says 'happy' for every face; remembers how many faces each call got."""

  class_names = EMOTIONS

  def __init__(self):
    self.batches = []

  def predict(self, faces):
    self.batches.append(len(faces))
    probs = np.full((len(faces), len(EMOTIONS)), 0.02)
    probs[:, EMOTIONS.index("happy")] = 0.88
    return probs


class _SquareDetector:
  """Finds the white square of a frame exactly (and slowly, like a big detector)."""

  name = "centerface"

  def __init__(self, delay_s=0.0, score=0.9):
    self.delay_s = delay_s
    self.score = score
    self.seen_threads = set()

  def detect(self, image):
    self.seen_threads.add(threading.current_thread().name)
    time.sleep(self.delay_s)
    ys, xs = np.nonzero(image[..., 0] > 250)
    if not len(xs):
      return []
    box = (float(xs.min()), float(ys.min()), float(xs.max() + 1), float(ys.max() + 1))
    return [Detection(box, self.score, None, self.name)]


def _moving_square(index, speed=2.0):
  """Frame `index` with the square at x = 20 + speed * index; its true box."""
  image = np.zeros((240, 320, 3), np.uint8)
  x0 = int(round(20 + speed * index))
  image[100:100 + SIZE, x0:x0 + SIZE] = 255
  return Frame(index, index / 15.0, image), (x0, 100, x0 + SIZE, 100 + SIZE)


def test_worker_detections_are_fused_at_their_own_frame():
  """A detection of frame k used as if it were of a later frame would lag the moving face."""
  detector = _SquareDetector(delay_s=0.01)
  with LivePipeline(detector, _CountingClassifier(), fps=15.0, detect_every=3,
                    asynchronous=True) as pipeline:
    errors = []
    for i in range(60):
      frame, truth = _moving_square(i)
      result = pipeline.process(frame)
      if i >= 20:
        assert len(result.faces) == 1, f"frame {i}"
        errors.append(abs(result.faces[0].box[0] - truth[0]))
  assert any(name.startswith("detector") for name in detector.seen_threads)
  # 3 frames of lag would be 6 px off; the Kalman prediction from fused detections is not.
  assert np.median(errors) < 1.0 and max(errors) < 2.5, errors


def test_file_results_do_not_depend_on_detection_speed():
  """Files wait for each detection, so a slow and a fast detector give the same boxes."""
  runs = []
  for delay in (0.0, 0.03):
    with LivePipeline(_SquareDetector(delay), _CountingClassifier(), fps=15.0,
                      detect_every=3, asynchronous=True) as pipeline:
      runs.append([[f.box for f in pipeline.process(_moving_square(i)[0]).faces]
                   for i in range(30)])
  assert runs[0] == runs[1]
  assert sum(1 for boxes in runs[0] if boxes) >= 20


def test_a_camera_waits_for_its_first_detection_only():
  """Live sources start with the first frame's faces, then keep processing frames while
  a detection is still running."""
  release = threading.Event()

  class _BlockedDetector(_SquareDetector):
    calls = 0

    def detect(self, image):
      self.calls += 1
      if self.calls > 1:
        release.wait(timeout=30)
      return super().detect(image)

  with LivePipeline(_BlockedDetector(), _CountingClassifier(), fps=15.0, detect_every=1,
                    min_hits=1, live=True) as pipeline:
    first = pipeline.process(_moving_square(0)[0])
    assert first.detected and len(first.faces) == 1
    results = [pipeline.process(_moving_square(i)[0]) for i in range(1, 10)]
    assert not any(r.detected for r in results)  # Ran on while blocked.
    release.set()
    deadline = time.monotonic() + 10
    index = 10
    while not pipeline.process(_moving_square(index)[0]).faces:
      assert time.monotonic() < deadline, "the finished detection was never fused"
      index += 1
      time.sleep(0.01)


def test_close_with_wait_lets_the_running_detection_finish_first():
  finished = threading.Event()

  class _SlowDetector(_SquareDetector):
    calls = 0

    def detect(self, image):
      self.calls += 1
      if self.calls > 1:  # The first frame's detection runs in the loop.
        time.sleep(0.3)
        finished.set()
      return super().detect(image)

  pipeline = LivePipeline(_SlowDetector(), _CountingClassifier(), fps=15.0,
                          detect_every=1, live=True)
  pipeline.process(_moving_square(0)[0])
  pipeline.process(_moving_square(1)[0])  # Starts a detection and does not wait for it.
  assert not finished.is_set()
  pipeline.close(wait=True)
  assert finished.is_set()


def test_a_file_detects_in_the_loop_and_a_camera_in_the_worker_by_default():
  detector = _SquareDetector()
  with LivePipeline(detector, _CountingClassifier(), fps=15.0, detect_every=2) as pipeline:
    detected = [pipeline.process(_moving_square(i)[0]).detected for i in range(6)]
  assert detected == [True, False] * 3
  assert detector.seen_threads == {threading.main_thread().name}
  camera = _SquareDetector()
  with LivePipeline(camera, _CountingClassifier(), fps=15.0, detect_every=2,
                    live=True) as pipeline:
    for i in range(6):
      pipeline.process(_moving_square(i)[0])
    pipeline.close(wait=True)  # The submitted detection has run.
  # The first frame's detection in the loop (a session starts with its faces), the
  # others in the worker.
  assert camera.seen_threads == {threading.main_thread().name, "detector_0"}


class _FixedDetector:
  """The same faces in every frame."""

  name = "centerface"

  def __init__(self, detections):
    self.detections = detections

  def detect(self, image):
    del image
    return list(self.detections)


def test_faces_under_the_size_limit_are_too_small_and_not_classified():
  big = Detection((100, 50, 160, 110), 0.9, None, "centerface")    # crop ~70 px
  small = Detection((20, 20, 28, 28), 0.9, None, "centerface")     # crop ~9 px
  classifier = _CountingClassifier()
  with LivePipeline(_FixedDetector([big, small]), classifier, fps=15.0, detect_every=1,
                    min_hits=1, too_small_px=14, asynchronous=False) as pipeline:
    result = pipeline.process(Frame(0, 0.0, np.zeros((240, 320, 3), np.uint8)))
  by_size = sorted(result.faces, key=lambda f: f.face_px)
  assert [f.label for f in by_size][0] == TOO_SMALL
  assert by_size[0].probs is None and by_size[0].face is None
  assert by_size[0].face_px == pytest.approx(1.16 * 8, rel=0.02)
  assert by_size[1].label != TOO_SMALL and by_size[1].probs is not None
  assert classifier.batches == [1]  # Only the big face went to the model.
  assert all(f.score == pytest.approx(0.9) for f in result.faces)


def test_a_photo_reports_every_confident_face_at_once():
  """No track confirmation: one call, every face above the start threshold, fresh ids."""
  faces = [Detection((x, 40, x + 50, 90), score, None, "centerface")
           for x, score in ((10, 0.9), (80, 0.6), (150, 0.3))]
  with LivePipeline(_FixedDetector(faces), _CountingClassifier(), fps=15.0,
                    high_threshold=0.5) as pipeline:
    first = pipeline.analyse_photo(Frame(0, 0.0, np.zeros((200, 240, 3), np.uint8)))
    second = pipeline.analyse_photo(Frame(1, 0.1, np.zeros((200, 240, 3), np.uint8)))
  assert [f.track_id for f in first.faces] == [1, 2]  # The 0.3 face is not counted.
  assert [f.track_id for f in second.faces] == [3, 4]  # Unrelated photos: new ids.
  assert {f.label for f in first.faces} == {"happy"}


class _SwitchableDetector(_FixedDetector):
  """The same faces, or none while `hidden` (a student looking down)."""

  hidden = False

  def detect(self, image):
    return [] if self.hidden else super().detect(image)


def test_a_lost_face_coasts_with_its_last_emotion_then_returns_with_its_id():
  detector = _SwitchableDetector([Detection((100, 50, 160, 110), 0.9, None, "centerface")])
  classifier = _CountingClassifier()
  fps = 10.0
  with LivePipeline(detector, classifier, fps=fps, detect_every=1, classify_every=1, coast_s=1.0,
                    memory_s=4.0, asynchronous=False, min_change=0.0) as pipeline:  # Still.
    frame = lambda i: Frame(i, i / fps, np.zeros((240, 320, 3), np.uint8))
    seen = [pipeline.process(frame(i)).faces for i in range(10)]
    assert seen[-1][0].label == "happy" and seen[-1][0].probs is not None
    detector.hidden = True
    calls = len(classifier.batches)
    lost = [pipeline.process(frame(i)).faces for i in range(10, 30)]
    calls_while_lost = len(classifier.batches) - calls
    detector.hidden = False
    back = [pipeline.process(frame(i)).faces for i in range(30, 33)]
  coasting = [faces for faces in lost if faces]
  assert len(coasting) == 10  # 1 s at 10 fps, then no longer reported ...
  assert all(f[0].label == "happy" and f[0].probs is None for f in coasting)
  assert calls_while_lost == 0  # ... and never classified meanwhile.
  assert back[-1][0].track_id == seen[-1][0].track_id  # Within memory_s: same id.


def test_a_lost_face_is_shown_where_it_was_last_detected():
  """A face moving right, then lost: shown at its last detected box while it coasts
  (with coast_in_place=False the tracker's prediction carries it on)."""

  def run(coast_in_place):
    shown, last_seen = [], None
    with LivePipeline(_SquareDetector(), _CountingClassifier(), fps=15.0, detect_every=1,
                      classify_every=1, coast_s=1.0, asynchronous=False, min_change=0.0,
                      coast_in_place=coast_in_place) as pipeline:
      for i in range(20):
        frame, box = _moving_square(i, speed=3.0)
        if i >= 12:  # The face is gone (a student looking down).
          frame = Frame(i, frame.timestamp, np.zeros_like(frame.image))
        else:
          last_seen = box
        faces = pipeline.process(frame).faces
        if i >= 12:
          shown.append(faces[0].box if faces else None)
    return shown, last_seen

  in_place, last_seen = run(True)
  assert all(box is not None for box in in_place)  # Coasting: still reported ...
  np.testing.assert_allclose(in_place, [last_seen] * len(in_place), atol=1.0)  # ... there.
  predicted, _ = run(False)
  assert predicted[-1][0] > last_seen[0] + 10  # The prediction moved on to the right.


class _CropRecorder(_CountingClassifier):
  """Remembers the crops it is given."""

  def __init__(self):
    super().__init__()
    self.crops = []

  def predict(self, faces):
    self.crops.extend(faces)
    return super().predict(faces)


def test_live_and_photo_crops_are_turned_upright_by_the_eyes():
  image = np.zeros((200, 200, 3), np.uint8)
  image[:, 100:] = 255  # A vertical edge: any rotation of the crop changes it.
  box = (60.0, 60.0, 140.0, 140.0)
  tilted = Detection(box, 0.9, np.array([[80.0, 80.0], [120.0, 100.0]]), "centerface")
  expected = faces_lib.crop_face(image, tilted)  # Rotated by the eyes' 26.6 degrees.
  assert not np.array_equal(expected, faces_lib.crop_face(image, box))
  for mode in ("process", "analyse_photo"):
    classifier = _CropRecorder()
    with LivePipeline(_FixedDetector([tilted]), classifier, fps=15.0, detect_every=1,
                      min_hits=1, asynchronous=False) as pipeline:
      getattr(pipeline, mode)(Frame(0, 0.0, image))
    np.testing.assert_array_equal(classifier.crops[0], expected)


class _CoarseSquareDetector(_SquareDetector):
  """Detects on the frame shrunk 4x, as a coarse detection scale does."""

  def detect(self, image):
    small = image[::4, ::4]
    return [Detection(tuple(4.0 * v for v in d.box), d.score, None, d.detector)
            for d in super().detect(small)]


def test_crops_come_from_the_full_resolution_frame():
  """However coarse the detection, the classifier reads the frame's own pixels."""
  image = np.zeros((1080, 1920, 3), np.uint8)
  image[400:520, 900:1020, 0] = 255  # What the detector finds ...
  fine = np.random.default_rng(0).integers(0, 200, (120, 120), dtype=np.uint8)
  image[400:520, 900:1020, 1] = fine  # ... and fine detail only the full frame has.
  classifier = _CropRecorder()
  with LivePipeline(_CoarseSquareDetector(), classifier, fps=15.0, detect_every=1,
                    min_hits=1, asynchronous=False) as pipeline:
    result = pipeline.process(Frame(0, 0.0, image))
  (face,) = result.faces
  expected = faces_lib.crop_faces(image, [face.box], framing=pipeline.framing)[0]
  np.testing.assert_array_equal(classifier.crops[0], expected)
  coarse = cv2.resize(image[::4, ::4], (1920, 1080), interpolation=cv2.INTER_LINEAR)
  blurred = faces_lib.crop_faces(coarse, [face.box], framing=pipeline.framing)[0]
  assert np.abs(expected.astype(int) - blurred).mean() > 5


def test_faces_are_read_in_turns_every_classify_every_frames():
  """Four faces, classify_every=2: all at once when new, then half of them per frame."""
  faces = [Detection((x, 50, x + 50, 100), 0.9, None, "centerface") for x in (10, 70, 130, 190)]
  frame = lambda i: Frame(i, i / 15.0, np.zeros((240, 320, 3), np.uint8))
  for every, expected in ((2, [4, 2, 2, 2, 2]), (1, [4, 4, 4, 4, 4])):
    classifier = _CountingClassifier()
    with LivePipeline(_FixedDetector(faces), classifier, fps=15.0, detect_every=1,
                      classify_every=every, min_hits=1, asynchronous=False) as pipeline:
      results = [pipeline.process(frame(i)).faces for i in range(5)]
    assert classifier.batches == expected
    for i, faces_now in enumerate(results[1:], start=1):
      read = {f.track_id for f in faces_now if f.probs is not None}
      assert read == {f.track_id for f in faces_now if (f.track_id + i) % every == 0}
      for face in faces_now:  # Held faces keep their smoothed emotion.
        assert face.smoothed_probs is not None and face.label != TOO_SMALL
        assert face.smoothed_probs.argmax() == EMOTIONS.index("happy")
  with pytest.raises(ValueError, match="classify_every must be >= 1"):
    LivePipeline(_FixedDetector(faces), _CountingClassifier(), fps=15.0, classify_every=0)


class _FaceClassifier:
  """'happy' for every crop; P(face) is the crop's mean brightness (white = face)."""

  class_names = EMOTIONS
  has_face_output = True
  model_dir = "a stand-in"

  def __init__(self):
    self.batches = []

  def predict_with_face(self, faces):
    self.batches.append(len(faces))
    probs = np.full((len(faces), len(EMOTIONS)), 0.02)
    probs[:, EMOTIONS.index("happy")] = 0.88
    return probs, np.asarray(faces, np.float32).reshape(len(faces), -1).mean(1) / 255

  def predict(self, faces):
    return self.predict_with_face(faces)[0]


def _scene():
  """A white 'face' on the left, a dark 'bag' on the right: both detected."""
  image = np.zeros((200, 320, 3), np.uint8)
  image[20:180, 0:150] = 255
  image[20:180, 170:320] = 30
  face = Detection((40.0, 60.0, 100.0, 120.0), 0.9, None, "centerface")
  bag = Detection((210.0, 60.0, 270.0, 120.0), 0.9, None, "centerface")
  return image, [face, bag]


def test_the_pipeline_reports_verified_faces_only():
  image, detections = _scene()
  with LivePipeline(_FixedDetector(detections), _FaceClassifier(), fps=10.0, detect_every=1,
                    asynchronous=False, min_change=0.0) as pipeline:  # A still face.
    results = [pipeline.process(Frame(i, i / 10, image)) for i in range(30)]
  assert all(len(r.faces) == 1 for r in results)
  assert {f.track_id for r in results for f in r.faces} == {1}
  assert all(r.faces[0].box[0] == 40.0 for r in results)
  assert all(r.rejected == 1 for r in results)
  assert pipeline.students.num_ids == 1


def _picture_and_student(i: int) -> np.ndarray:
  """Frame `i`: a printed face that never moves (left) and a student who sways (right),
  each a bright blocky texture, under camera noise; the student's is tinted blue."""
  rng = np.random.default_rng(i)
  image = np.clip(rng.normal(60, 3, (200, 320, 3)), 0, 255).astype(np.uint8)
  texture = np.random.default_rng(7).integers(150, 255, (6, 6), np.uint8)
  face = cv2.resize(texture, (60, 60), interpolation=cv2.INTER_NEAREST)[..., None]
  image[60:120, 40:100] = face
  x = round(200 + 6 * np.sin(i / 4))
  image[60:120, x:x + 60] = face
  image[60:120, x:x + 60, 0] = 255
  return image


class _PictureAndStudent:
  """Finds the printed face where it hangs and the student by the blue tint."""

  name = "centerface"

  def detect(self, image):
    x = float(np.flatnonzero(image[90, 120:, 0] == 255)[0] + 120)
    return [Detection((40.0, 60.0, 100.0, 120.0), 0.9, None, "centerface"),
            Detection((x, 60.0, x + 60.0, 120.0), 0.9, None, "centerface")]


def test_a_picture_is_hidden_after_the_first_second_and_a_moving_face_is_not():
  """Worker-thread detection: the pixels are read at the fused detections."""
  with LivePipeline(_PictureAndStudent(), _FaceClassifier(), fps=30.0,
                    asynchronous=True) as pipeline:
    results = [pipeline.process(Frame(i, i / 30, _picture_and_student(i))) for i in range(90)]
  picture = [any(f.box[0] == 40.0 for f in r.faces) for r in results]
  student = [any(f.box[0] > 150 for f in r.faces) for r in results]
  assert all(picture[:25]) and not any(picture[35:])
  assert all(student)
  assert pipeline.verification()["still_tracks"] == 1


class _SkippingPictureAndStudent(_PictureAndStudent):
  """... and notes which boxes the pipeline says need not be followed."""

  def __init__(self):
    self.skipped = []  # (detections so far, boxes) at each call of `skip`.
    self.calls = 0

  def detect(self, image):
    self.calls += 1
    return super().detect(image)

  def skip(self, boxes):
    self.skipped.append((self.calls, np.asarray(boxes).copy()))


def test_detection_rounds_are_told_to_skip_a_picture_once_it_was_still_long_enough():
  detector = _SkippingPictureAndStudent()
  fps = 30.0
  with LivePipeline(detector, _FaceClassifier(), fps=fps, detect_every=3) as pipeline:
    for i in range(150):
      pipeline.process(Frame(i, i / fps, _picture_and_student(i)))
  assert [calls for calls, _ in detector.skipped] == list(range(1, 51))  # Each round.
  for calls, boxes in detector.skipped:
    seconds = (calls - 1) * 3 / fps
    if seconds < UNFOLLOW_STILL_S:
      assert len(boxes) == 0, seconds
    else:  # The printed face only, never the student who sways.
      assert len(boxes) == 1 and abs(boxes[0][0] - 40.0) < 2, (seconds, boxes)


def test_a_file_stream_never_shows_a_picture_of_the_first_detection():
  """A file's results come a second late, revised: the printed face found by the first
  detection is judged by then and dropped from every frame; a camera shows it at first."""
  frames = [Frame(i, i / 30, _picture_and_student(i)) for i in range(90)]
  with LivePipeline(_PictureAndStudent(), _FaceClassifier(), fps=30.0) as pipeline:
    assert pipeline.hindsight_s == 1.0
    results = list(pipeline.stream(iter(frames)))
  assert [r.frame.index for r in results] == list(range(90))
  assert not any(f.box[0] == 40.0 for r in results for f in r.faces)
  assert all(any(f.box[0] > 150 for f in r.faces) for r in results)
  assert all(r.rejected >= 1 for r in results)
  assert {f.track_id for r in results for f in r.faces} == {2}
  with LivePipeline(_PictureAndStudent(), _FaceClassifier(), fps=30.0) as stopped:
    handed_out = list(itertools.islice(stopped.stream(iter(frames)), 40))
    held = stopped.held_back()  # Stopped early: the frames analysed since, revised.
  assert [r.frame.index for r in handed_out + held] == list(range(71))
  assert not any(f.box[0] == 40.0 for r in held for f in r.faces)
  assert not stopped.held_back()
  with LivePipeline(_PictureAndStudent(), _FaceClassifier(), fps=30.0,
                    live=True) as camera:
    # A camera shows the picture until it is judged, but records a second late, revised.
    records = Hindsight(camera.students, camera.students.still_s)
    shown, recorded = [], []
    for result in camera.stream(iter(frames)):
      shown.append(any(f.box[0] == 40.0 for f in result.faces))
      recorded += records.push(result)
    recorded += records.flush()
  assert shown[0] and not any(shown[35:])
  assert [r.frame.index for r in recorded] == list(range(90))
  assert not any(f.box[0] == 40.0 for r in recorded for f in r.faces)


def test_a_student_id_taken_back_at_the_seat_is_shown_once_in_that_frame():
  """The face comes up from the desk as a new track while the old one still coasts: the
  new track takes the id, and the coasting one is no longer shown with it."""
  near = Detection((100.0, 100.0, 140.0, 140.0), 0.9, None, "centerface")
  up = Detection((100.0, 40.0, 140.0, 80.0), 0.9, None, "centerface")  # 1.5 sizes above.
  detector = _FixedDetector([near])
  image = np.full((240, 320, 3), 255, np.uint8)
  seen = []
  with LivePipeline(detector, _FaceClassifier(), fps=10.0, detect_every=1, coast_s=1.0,
                    asynchronous=False, min_change=0.0) as pipeline:
    for i in range(30):
      if i == 15:
        detector.detections = [up]
      seen.append([f.track_id for f in pipeline.process(Frame(i, i / 10, image)).faces])
  assert all(len(ids) == len(set(ids)) for ids in seen), seen
  assert seen[-1] == [1] and pipeline.students.seat_returns == 1


def test_photo_mode_drops_a_detection_that_is_not_a_face():
  image, detections = _scene()
  with LivePipeline(_FixedDetector(detections), _FaceClassifier(), fps=10.0) as pipeline:
    result = pipeline.analyse_photo(Frame(0, 0.0, image))
  assert [f.box[0] for f in result.faces] == [40.0] and result.rejected == 1
  assert result.faces[0].track_id == 1 and result.faces[0].label == "happy"


def test_reported_boxes_stay_in_the_frame_and_a_face_that_left_it_is_not_shown():
  shape = (100, 200, 3)
  assert in_frame((10.0, 20.0, 30.0, 40.0), shape) == (10.0, 20.0, 30.0, 40.0)
  assert in_frame((190.0, 20.0, 210.0, 40.0), shape) == (190.0, 20.0, 200.0, 40.0)  # Half.
  assert in_frame((-12.0, 90.0, 8.0, 110.0), shape) is None  # A quarter inside: gone.
  assert in_frame((300.0, 20.0, 320.0, 40.0), shape) is None


def test_a_small_box_in_a_photo_needs_a_surer_face_check():
  """P(face) 0.55 (a grey patch) passes the face threshold 0.3 for a 60 px box, but a
  12 px box needs SMALL_FACE_CHECK (0.9) where boxes under 13 px are small; a white
  12 px box (P(face) 1) still counts; a face threshold of 0 counts every box. Video
  tracks keep the plain check."""
  image = np.full((200, 320, 3), 140, np.uint8)
  image[:, 240:] = 255
  big = Detection((40.0, 60.0, 100.0, 120.0), 0.9, None, "centerface")
  grey_small = Detection((150.0, 100.0, 162.0, 112.0), 0.9, None, "centerface")
  white_small = Detection((270.0, 100.0, 282.0, 112.0), 0.9, None, "centerface")
  found = [big, grey_small, white_small]
  results = {}
  for threshold, small_face in ((0.3, 10.0), (0.3, 13.0), (0.0, 13.0)):
    with LivePipeline(_FixedDetector(found), _FaceClassifier(), fps=10.0,
                      face_threshold=threshold, small_face=small_face) as pipeline:
      results[threshold, small_face] = pipeline.analyse_photo(Frame(0, 0.0, image))
  assert len(results[0.3, 10.0].faces) == 3
  checked = results[0.3, 13.0]
  assert sorted(f.box[0] for f in checked.faces) == [40.0, 270.0] and checked.rejected == 1
  assert len(results[0.0, 13.0].faces) == 3
  # Video keeps the plain check: the grey 12 px box, tracked, becomes a student.
  with LivePipeline(_FixedDetector([grey_small]), _FaceClassifier(), fps=10.0,
                    detect_every=1, asynchronous=False, min_change=0.0, face_threshold=0.3,
                    small_face=13.0) as pipeline:
    video = [pipeline.process(Frame(i, i / 10, image)) for i in range(20)]
  assert len(video[-1].faces) == 1



def test_faces_in_an_ignored_region_are_not_counted():
  """A poster's printed face: the teacher marks its part of the frame once."""
  image, detections = _scene()
  poster = Detection((210.0, 60.0, 270.0, 120.0), 0.9, None, "centerface")
  with LivePipeline(_FixedDetector([detections[0], poster]), _FaceClassifier(), fps=10.0,
                    detect_every=1, asynchronous=False, face_threshold=0.0,
                    ignore_regions=[(0.6, 0.0, 1.0, 1.0)]) as pipeline:
    video = [pipeline.process(Frame(i, i / 10, image)) for i in range(3)]
    photo = pipeline.analyse_photo(Frame(3, 0.3, image))
  assert all([f.box[0] for f in r.faces] == [40.0] for r in video + [photo])
  with pytest.raises(ValueError, match="fractions of the frame"):
    LivePipeline(_FixedDetector([]), _FaceClassifier(), fps=10.0,
                 ignore_regions=[(0.5, 0.0, 0.2, 1.0)])


class _EmotionsOnly(_CountingClassifier):
  """A classifier without a face output."""

  has_face_output = False


def test_a_separate_verifier_checks_only_the_tracks_not_yet_verified():
  image, detections = _scene()
  verifier = _FaceClassifier()
  classifier = _EmotionsOnly()
  with LivePipeline(_FixedDetector(detections), classifier, fps=10.0, detect_every=1,
                    classify_every=1, asynchronous=False, verifier=verifier) as pipeline:
    results = [pipeline.process(Frame(i, i / 10, image)) for i in range(6)]
    photo = pipeline.analyse_photo(Frame(6, 0.6, image))
  assert all([f.box[0] for f in r.faces] == [40.0] for r in results)
  assert [f.box[0] for f in photo.faces] == [40.0] and photo.rejected == 1
  assert verifier.batches[:2] == [2, 1]  # Both at first; then the bag, in its turns.
  assert pipeline.verification()["verified_by"].startswith("the face output of")
  # The emotion model reads the face (video and photo) but never the bag.
  assert sum(classifier.batches) == 6 + 1 and max(classifier.batches) == 1
  assert results[0].faces[0].probs is not None  # Read in the frame it was verified.
