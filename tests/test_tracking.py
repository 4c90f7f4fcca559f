"""Tests for ferjax.live.tracking."""

import copy

import numpy as np
import pytest

from ferjax.live import tracking


def _box(cx, cy, size=40.0):
  return [cx - size / 2, cy - size / 2, cx + size / 2, cy + size / 2]


def _ids_by_detection(tracker, boxes, scores=None):
  tracker.update(np.array(boxes).reshape(-1, 4), scores)
  return list(tracker.detection_ids)


def test_iou_matrix_known_values():
  a = np.array([[0, 0, 10, 10], [0, 0, 10, 10]])
  b = np.array([[5, 0, 15, 10], [20, 20, 30, 30], [0, 0, 10, 10]])
  iou = tracking.iou_matrix(a, b)
  np.testing.assert_allclose(iou[0], [50 / 150, 0.0, 1.0])
  assert tracking.iou_matrix(np.zeros((0, 4)), b).shape == (0, 3)


def test_kalman_learns_constant_velocity():
  kf = tracking.BoxKalmanFilter(np.array(_box(100, 100)))
  for t in range(1, 20):
    kf.predict()
    kf.correct(np.array(_box(100 + 4 * t, 100 - 2 * t)))
  predicted = kf.predict()
  np.testing.assert_allclose(predicted, _box(100 + 4 * 20, 100 - 2 * 20), atol=1.0)


def test_ids_stable_for_constant_velocity_motion():
  tracker = tracking.Tracker(min_hits=3, max_age=5)
  velocities = [(3, 0), (-2, 1), (0, 4), (2, -2)]
  starts = [(60, 60), (400, 80), (200, 100), (300, 400)]
  history = []
  for t in range(60):
    boxes = [_box(sx + vx * t, sy + vy * t) for (sx, sy), (vx, vy)
             in zip(starts, velocities)]
    ids = _ids_by_detection(tracker, boxes)
    if t >= 2:  # Confirmed after 3 rounds.
      history.append(ids)
  history = np.array(history)
  assert (history > 0).all()
  # Each detection keeps one id for the whole clip: no switches.
  assert all(len(set(history[:, i])) == 1 for i in range(4))
  assert len(set(history[0])) == 4
  assert tracker.num_ids == 4


def test_min_hits_delays_reporting_and_maps_detections():
  tracker = tracking.Tracker(min_hits=3)
  for t in range(2):
    tracks = tracker.update(np.array([_box(100 + t, 100)]))
    assert tracks == []
    assert list(tracker.detection_ids) == [-1]
  tracks = tracker.update(np.array([_box(102, 100)]), scores=np.array([0.9]))
  assert [t.id for t in tracks] == [1]
  assert tracks[0].detection_index == 0
  assert tracks[0].score == pytest.approx(0.9)
  assert tracks[0].hits == 3
  np.testing.assert_allclose(tracks[0].box, _box(102, 100))


def test_min_hits_one_confirms_immediately():
  tracker = tracking.Tracker(min_hits=1)
  tracks = tracker.update(np.array([_box(50, 50), _box(200, 50)]))
  assert [t.id for t in tracks] == [1, 2]
  assert list(tracker.detection_ids) == [1, 2]


def test_detection_mapping_follows_input_order():
  tracker = tracking.Tracker(min_hits=1)
  tracker.update(np.array([_box(50, 50), _box(300, 50)]))
  # Same faces, listed in the other order.
  assert _ids_by_detection(tracker, [_box(302, 50), _box(51, 50)]) == [2, 1]


def test_occlusion_for_a_few_frames_keeps_id():
  tracker = tracking.Tracker(min_hits=2, max_age=10)
  ids_before, ids_after = None, None
  for t in range(40):
    a = _box(100 + 5 * t, 200)
    b = _box(300 - 5 * t, 215)  # Passes in front of a around t = 20 ...
    occluded = 16 <= t <= 24  # ... hiding it from the detector.
    boxes = [b] if occluded else [a, b]
    ids = _ids_by_detection(tracker, boxes)
    if t == 15:
      ids_before = ids
    if occluded:
      assert ids == [ids_before[1]], t
    if t == 30:
      ids_after = ids
  assert ids_before == ids_after
  assert tracker.num_ids == 2


def test_crossing_without_occlusion_keeps_ids():
  tracker = tracking.Tracker(min_hits=2, max_age=5)
  first = None
  for t in range(50):
    # Two faces cross diagonally; they overlap heavily around t = 25.
    ids = _ids_by_detection(tracker, [_box(100 + 6 * t, 200 + 1 * t),
                                      _box(400 - 6 * t, 225 - 1 * t)])
    if t == 5:
      first = ids
    if t > 5:
      assert ids == first, t


def test_dead_track_id_never_reused():
  tracker = tracking.Tracker(min_hits=1, max_age=3)
  assert _ids_by_detection(tracker, [_box(100, 100)]) == [1]
  for _ in range(4):  # Longer than max_age: the track dies.
    tracker.update(np.zeros((0, 4)))
  assert tracker.update(np.zeros((0, 4))) == []
  # Same place, after death: a new id.
  assert _ids_by_detection(tracker, [_box(100, 100)]) == [2]
  assert _ids_by_detection(tracker, [_box(100, 100), _box(300, 300)]) == [2, 3]


def test_lost_within_max_age_keeps_id():
  tracker = tracking.Tracker(min_hits=1, max_age=3)
  tracker.update(np.array([_box(100, 100)]))
  for _ in range(3):
    assert tracker.update(None) == []  # max_coast=0: not reported while lost.
  assert _ids_by_detection(tracker, [_box(100, 100)]) == [1]


def test_max_coast_reports_missing_tracks_with_predicted_boxes():
  tracker = tracking.Tracker(min_hits=1, max_age=10, max_coast=2)
  for t in range(10):
    tracker.update(np.array([_box(100 + 3 * t, 100)]))
  tracks = tracker.update(np.zeros((0, 4)))
  assert [t.id for t in tracks] == [1]
  assert tracks[0].is_predicted and tracks[0].detection_index is None
  assert tracks[0].box[0] == pytest.approx(_box(130, 100)[0], abs=1.5)
  tracker.update(None)
  assert len(tracker.update(None)) == 0  # Third miss > max_coast.


def test_predict_only_bridges_frames_between_detections():
  tracker = tracking.Tracker(min_hits=2, max_age=6)
  detect_every = 3
  seen_ids = set()
  for t in range(60):
    box = _box(100 + 4 * t, 150 + 1 * t)
    if t % detect_every == 0:
      tracks = tracker.update(np.array([box]))
    else:
      tracks = tracker.predict_only()
      assert tracker.detection_ids.shape == (0,)
    if t >= detect_every * 2:
      assert len(tracks) == 1, t
      seen_ids.add(tracks[0].id)
      # The bridged box stays on the face.
      assert tracking.iou_matrix(tracks[0].box[None], np.array([box]))[0, 0] > 0.7, t
  assert seen_ids == {1}


def test_tentative_track_dropped_after_one_miss():
  tracker = tracking.Tracker(min_hits=3)
  tracker.update(np.array([_box(100, 100)]))  # A one-frame false positive.
  tracker.update(None)
  for _ in range(3):
    tracker.update(np.array([_box(400, 400)]))
  assert [t.id for t in tracker.update(np.array([_box(400, 400)]))] == [1]


def test_a_fast_new_face_is_confirmed_with_detections_far_apart():
  """A teacher walking past, detected every 0.2 s (a camera's pace): 0.8 face sizes a
  round, which a tentative track, still without velocity, must accept."""
  tracker = tracking.Tracker(min_hits=2)
  tracker.update(np.array([_box(50, 400)]))  # An established face elsewhere.
  reported = []
  for k in range(1, 6):
    for _ in range(5):  # Frames between two detections.
      tracker.predict_only()
    reported = tracker.update(np.array([_box(50, 400), _box(100 + 32 * k, 100)]))
  assert len(reported) == 2 and len({t.id for t in reported}) == 2


@pytest.mark.parametrize("new_face_speed, followed", [(4.5 / 12.5, True),
                                                      (tracking.NEW_FACE_SPEED, False)])
def test_a_face_of_the_first_round_is_followed_walking_toward_a_slow_camera(
    new_face_speed, followed):
  """A face confirmed at the first detection has no velocity yet: detected every 4th frame
  of a 12.5 FPS clip, it moved 0.9 face sizes by its next detection. At the speed for
  30 FPS (0.6 face sizes in 4 frames) its track loses it, and no new one is confirmed."""
  tracker = tracking.Tracker(min_hits=2, confirm_first_round=True,
                             new_face_speed=new_face_speed)
  tracker.update(np.array([_box(100, 100)]))
  matched = []
  for k in range(1, 4):
    for _ in range(3):
      tracker.predict_only()
    reported = tracker.update(np.array([_box(100 + 36 * k, 100)]))
    matched.append([t.id for t in reported if t.time_since_update == 0])
  assert matched == ([[1]] * 3 if followed else [[]] * 3)


def test_boxes_appearing_and_disappearing():
  tracker = tracking.Tracker(min_hits=1, max_age=2)
  seats = [_box(80 + 120 * i, 100) for i in range(4)]
  # Faces 0 and 1 always; face 2 from t=5; face 3 for t in [0, 10) only.
  ids = {}
  for t in range(20):
    present = [0, 1] + ([2] if t >= 5 else []) + ([3] if t < 10 else [])
    det_ids = _ids_by_detection(tracker, [seats[i] for i in present])
    for seat, track_id in zip(present, det_ids):
      ids.setdefault(seat, set()).add(track_id)
  assert all(len(v) == 1 for v in ids.values())
  assert len({next(iter(v)) for v in ids.values()}) == 4
  reported = {t.id for t in tracker.update(np.array([seats[i] for i in (0, 1, 2)]))}
  assert reported == {next(iter(ids[i])) for i in (0, 1, 2)}


def test_scores_length_checked():
  with pytest.raises(ValueError):
    tracking.Tracker().update(np.array([_box(1, 1)]), scores=np.array([0.5, 0.6]))


def test_still_face_found_again_after_partial_occlusion_skews_velocity():
  tracker = tracking.Tracker(min_hits=2, max_age=30)
  face = np.array([100.0, 100.0, 160.0, 160.0])
  for t in range(45):
    if t < 20 or t >= 35:
      boxes = face[None]
    elif t < 26:  # An occluder slides in from the left: the box shrinks.
      boxes = (face + [6.0 * (t - 19), 0, 0, 0])[None]
    else:
      boxes = np.zeros((0, 4))
    ids = _ids_by_detection(tracker, boxes)
    if t >= 1 and len(boxes):
      assert ids == [1], t
  assert tracker.num_ids == 1


def test_lost_confirmed_track_wins_over_a_new_tentative_one():
  tracker = tracking.Tracker(min_hits=2, max_age=30)
  for t in range(10):  # Moving right, 6 px per frame ...
    tracker.update(np.array([[100.0 + 6 * t, 80, 140 + 6 * t, 120]]))
  for _ in range(8):  # ... then hidden: the prediction runs on, 48 px further.
    tracker.update(None)
  x = 154.0  # The last detected box was [154, 80, 194, 120].
  # The face comes back where it was last seen, first a sliver (IoU 0.25 with
  # the last box: a tentative track starts), then wider.
  assert _ids_by_detection(tracker, [[x, 80, x + 10, 120]]) == [-1]
  # IoU 0.4 with the lost track's last box, 0.625 with the tentative track.
  assert _ids_by_detection(tracker, [[x, 80, x + 16, 120]]) == [1]
  assert _ids_by_detection(tracker, [[x, 80, x + 40, 120]]) == [1]
  assert tracker.num_ids == 1


def test_active_ids_include_lost_tracks_until_they_die():
  tracker = tracking.Tracker(min_hits=1, max_age=2)
  tracker.update(np.array([_box(100, 100), _box(300, 100)]))
  tracker.update(np.array([_box(100, 100)]))
  assert tracker.active_ids == {1, 2}
  tracker.update(np.array([_box(100, 100)]))
  tracker.update(np.array([_box(100, 100)]))
  assert tracker.active_ids == {1}


def _confirmed_tracker(box, **kwargs):
  """A tracker holding one confirmed track (id 1) on `box`."""
  tracker = tracking.Tracker(min_hits=2, max_age=30, **kwargs)
  for _ in range(2):
    tracker.update(np.array([box]), np.array([0.9]))
  assert list(tracker.detection_ids) == [1]
  return tracker


def test_low_score_detection_extends_a_track_and_moves_its_box():
  tracker = _confirmed_tracker(_box(100, 100))
  for t in range(1, 6):
    moved = _box(100 + 3 * t, 100)
    tracks = tracker.update(np.array([moved]), np.array([0.3]))
    assert list(tracker.detection_ids) == [1]
    assert [x.id for x in tracks] == [1]
    np.testing.assert_allclose(tracks[0].box, moved)
    assert tracks[0].score == pytest.approx(0.3)
    assert tracks[0].time_since_update == 0


def test_scores_under_low_threshold_are_ignored():
  tracker = _confirmed_tracker(_box(100, 100))
  tracks = tracker.update(np.array([_box(100, 100)]), np.array([0.1]))
  assert tracks == [] and list(tracker.detection_ids) == [-1]
  assert tracker.active_ids == {1}  # Lost, not dead.


def test_low_score_newcomer_never_gets_an_id():
  tracker = tracking.Tracker(min_hits=1)
  for _ in range(20):
    tracks = tracker.update(np.array([_box(100, 100)]), np.array([0.45]))
    assert tracks == [] and list(tracker.detection_ids) == [-1]
  assert tracker.num_ids == 0
  # The same face scored high starts a track at once (min_hits=1).
  assert _ids_by_detection(tracker, [_box(100, 100)], np.array([0.5])) == [1]


def test_low_score_detections_confirm_a_track_a_high_one_started():
  tracker = tracking.Tracker(min_hits=3)
  assert _ids_by_detection(tracker, [_box(100, 100)], np.array([0.8])) == [-1]
  assert _ids_by_detection(tracker, [_box(101, 100)], np.array([0.3])) == [-1]
  assert _ids_by_detection(tracker, [_box(102, 100)], np.array([0.3])) == [1]


def test_high_detections_win_over_low_ones():
  tracker = _confirmed_tracker(_box(100, 100))
  # A low box right on the track and a high one a little off: the high one is
  # matched first; the low one starts nothing.
  boxes = [_box(100, 100), _box(104, 100)]
  assert _ids_by_detection(tracker, boxes, np.array([0.3, 0.7])) == [-1, 1]
  assert tracker.num_ids == 1


def test_none_scores_count_as_high():
  with_none, with_high = tracking.Tracker(min_hits=2), tracking.Tracker(min_hits=2)
  for t in range(5):
    boxes = np.array([_box(100 + 2 * t, 100), _box(300, 100 + t)])
    with_none.update(boxes, None)
    with_high.update(boxes, np.ones(2))
    assert list(with_none.detection_ids) == list(with_high.detection_ids)
  assert list(with_none.detection_ids) == [1, 2]
  # And with low scores the same boxes would have started nothing.
  with_low = tracking.Tracker(min_hits=2)
  for t in range(5):
    with_low.update(np.array([_box(100 + 2 * t, 100)]), np.array([0.3]))
  assert with_low.num_ids == 0


def test_thresholds_checked():
  with pytest.raises(ValueError):
    tracking.Tracker(high_threshold=0.3, low_threshold=0.5)


def test_centre_gate_matches_small_boxes_that_barely_overlap():
  track = np.array([[100.0, 100.0, 112.0, 112.0]])
  # The same 12 px face, boxed 3 px larger, its centre 4.5 px right and down.
  detection = np.array([[103.0, 103.0, 118.0, 118.0]])
  assert tracking.iou_matrix(track, detection)[0, 0] < 0.3
  _, admissible = tracking.match_affinity(track, detection, 0.3, center_gate=0.5)
  assert admissible[0, 0]
  _, admissible = tracking.match_affinity(track, detection, 0.3, center_gate=0.0)
  assert not admissible[0, 0]
  # A neighbour 1.5 face sizes away, or a box of another size, stays apart.
  others = np.array([[118.0, 100.0, 130.0, 112.0], [104.0, 104.0, 109.0, 109.0]])
  _, admissible = tracking.match_affinity(track, others, 0.3, center_gate=0.5)
  assert not admissible.any()


def _seated_class(rng, frames, jitter=1.5, size=12.0, spacing=30.0):
  """Per frame, jittered boxes of 6 still 12 px faces, 2.5 face sizes apart."""
  centres = [(100 + spacing * (i % 3), 100 + spacing * (i // 3)) for i in range(6)]
  for _ in range(frames):
    boxes = np.array([_box(cx, cy, size) for cx, cy in centres])
    yield boxes + np.clip(rng.normal(0, jitter, boxes.shape), -2 * jitter, 2 * jitter)


@pytest.mark.parametrize("jitter", [1.5, 2.0])
def test_jittered_small_faces_keep_one_id_for_200_frames(jitter):
  rng = np.random.default_rng(0)
  tracker = tracking.Tracker(min_hits=2, max_age=50)
  ids = []
  for t, boxes in enumerate(_seated_class(rng, 200, jitter)):
    if t % 3:
      tracks = tracker.predict_only()
    else:  # Scores around the high threshold: about half of them are low.
      tracks = tracker.update(boxes, rng.uniform(0.3, 0.7, len(boxes)))
      ids.append(list(tracker.detection_ids))
    if t >= 30 and jitter < 2:  # Every face has scored high twice in a row by now.
      assert len(tracks) == 6, t
  ids = np.array(ids[10:])
  # Edges 2 px off on average, up to 4: now and then a box is left out.
  assert np.mean(ids < 0) <= (0.0 if jitter < 2 else 0.01)
  assert all(len(set(ids[:, i]) - {-1}) == 1 for i in range(6))
  assert tracker.num_ids == 6


RECOMMENDED_MEMORY_S = 6.0
FPS = 20


def _looking_down(tracker_memory_s, absent):
  """Ids of face 0 of a seated class, before and after 3 s looking down."""
  rng = np.random.default_rng(1)
  tracker = tracking.Tracker(min_hits=2, max_age=round(tracker_memory_s * FPS))
  before, during, after = set(), set(), set()
  for t, boxes in enumerate(_seated_class(rng, 10 * FPS)):
    if t % 3:
      tracker.predict_only()
      continue
    scores = np.full(len(boxes), 0.7)
    down = 3 * FPS <= t < 6 * FPS
    if down:  # Face 0 writes: its box slides down by a third.
      boxes[0] += [0, 4, 0, 4]
      scores[0] = 0.1 if absent else 0.3
    tracker.update(boxes, scores)
    (during if down else after if t >= 6 * FPS else before).add(tracker.detection_ids[0])
  return before - {-1}, during, after, tracker.num_ids


def test_face_absent_for_3_s_keeps_its_id_with_the_recommended_memory():
  before, during, after, num_ids = _looking_down(RECOMMENDED_MEMORY_S, absent=True)
  assert during == {-1}
  assert before == after == {1} and num_ids == 6
  # The live tool's former 2.5 s memory forgot the face.
  before, _, after, num_ids = _looking_down(2.5, absent=True)
  assert before == {1} and after - {-1} == {7} and num_ids == 7


def test_face_low_score_for_3_s_stays_shown():
  before, during, after, num_ids = _looking_down(RECOMMENDED_MEMORY_S, absent=False)
  assert before == during == after == {1} and num_ids == 6


def test_second_box_on_a_tracked_face_starts_no_track():
  tracker = tracking.Tracker(min_hits=1)
  face = np.array([100.0, 100.0, 112.0, 112.0])
  tracker.update(face[None], np.array([0.9]))
  for _ in range(5):  # Non-maximum suppression kept a second, shifted box.
    boxes = np.stack([face, face + [6, 3, 6, 3]])
    assert _ids_by_detection(tracker, boxes, np.array([0.9, 0.6])) == [1, -1]
  assert tracker.num_ids == 1


def test_face_split_off_while_lost_is_folded_back_into_its_id():
  tracker = tracking.Tracker(min_hits=1, max_age=60, center_gate=0.5)
  face = np.array([100.0, 100.0, 112.0, 112.0])
  tracker.update(face[None])
  for _ in range(5):
    tracker.update(None)
  # Back, boxed a face size lower: too far for the lost track, a new id ...
  assert _ids_by_detection(tracker, [face + [0, 12, 0, 12]]) == [2]
  # ... that, once the box is back within 0.75 face sizes of where id 1 was
  # last seen, is folded into id 1.
  assert _ids_by_detection(tracker, [face + [0, 8, 0, 8]]) == [1]
  assert tracker.active_ids == {1}
  assert _ids_by_detection(tracker, [face + [0, 6, 0, 6]]) == [1]


def test_faces_passing_each_other_are_not_merged():
  tracker = tracking.Tracker(min_hits=1, max_age=30)
  for t in range(30):
    # Face 1 stops at x=200 and vanishes; face 2 walks right through its place.
    boxes = [_box(300 - 5 * t, 100)] + ([_box(min(100 + 5 * t, 200), 100)] if t < 20 else [])
    tracker.update(np.array(boxes))
  assert tracker.active_ids == {1, 2}


@pytest.mark.parametrize("copier", [copy.deepcopy, tracking.Tracker.copy])
def test_a_copy_is_an_independent_tracker_that_replays_the_same(copier):
  rng = np.random.default_rng(2)
  frames = list(_seated_class(rng, 60))
  tracker = tracking.Tracker(min_hits=2, max_age=20)
  for boxes in frames[:30]:
    tracker.update(boxes, rng.uniform(0.3, 0.9, len(boxes)))
  snapshot = copier(tracker)
  scores = [rng.uniform(0.3, 0.9, len(b)) for b in frames[30:]]

  def run(t):
    out = []
    for i, (boxes, s) in enumerate(zip(frames[30:], scores)):
      tracks = t.update(boxes, s) if i % 2 == 0 else t.predict_only()
      out.append([(x.id, tuple(np.round(x.box, 9))) for x in tracks])
    return out

  original = run(tracker)
  assert run(snapshot) == original  # The replay gives the same ids and boxes.
  # Feeding the copy does not touch the original (and back).
  ids_before, frame_before = tracker.active_ids, tracker.frame_count
  for _ in range(40):
    snapshot.update(None)
  snapshot.update(np.array([_box(500, 500)]))
  assert snapshot.active_ids != ids_before
  assert tracker.active_ids == ids_before and tracker.frame_count == frame_before
  tracker.update(frames[0])
  assert snapshot.frame_count == frame_before + 41


def test_first_round_confirms_when_asked_later_newcomers_wait():
  tracker = tracking.Tracker(min_hits=2, confirm_first_round=True)
  first = tracker.update(np.array([[10, 10, 40, 40]]), np.array([0.9]))
  assert [t.id for t in first] == [1]  # Reported at once.
  second = tracker.update(np.array([[10, 10, 40, 40], [100, 10, 130, 40]]),
                          np.array([0.9, 0.9]))
  assert [t.id for t in second] == [1]  # The newcomer waits for its second round.
  third = tracker.update(np.array([[10, 10, 40, 40], [100, 10, 130, 40]]),
                         np.array([0.9, 0.9]))
  assert [t.id for t in third] == [1, 2]
  assert tracking.Tracker(min_hits=2).update(np.array([[10, 10, 40, 40]]), np.array([0.9])) == []


def test_tracks_carry_the_eye_roll_of_their_last_detection():
  tracker = tracking.Tracker(min_hits=1)
  box = np.array([[10.0, 10.0, 50.0, 50.0]])
  (track,) = tracker.update(box, rolls=[12.5])
  assert track.roll == 12.5
  (track,) = tracker.predict_only()
  assert track.roll == 12.5  # Kept while the face is predicted.
  (track,) = tracker.update(box + 2, rolls=[-4.0])
  assert track.roll == -4.0
  (track,) = tracking.Tracker(min_hits=1).update(box)
  assert track.roll == 0.0  # Not given: upright.
  with pytest.raises(ValueError, match="rolls"):
    tracker.update(box, rolls=[1.0, 2.0])
