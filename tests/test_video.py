"""Frame sources: video files, GIFs, image folders, and a missing camera."""

import os
import time

import cv2
import numpy as np
import pytest
from PIL import Image

from ferjax.live import sources

MEDIA = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "media")


def _frames(n, size=(64, 48)):
  return [np.full((size[1], size[0], 3), 20 * i, np.uint8) for i in range(n)]


def test_video_file_yields_every_frame_with_timestamps(tmp_path):
  path = str(tmp_path / "clip.avi")
  writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*"MJPG"), 10.0, (64, 48))
  for frame in _frames(7):
    writer.write(frame)
  writer.release()
  source = sources.open_source(path)
  frames = list(source)
  source.close()
  assert [f.index for f in frames] == list(range(7))
  assert frames[3].timestamp == pytest.approx(0.3)
  assert frames[0].image.shape == (48, 64, 3)
  assert abs(int(frames[5].image.mean()) - 100) <= 3


def test_gif_is_read_like_a_video(tmp_path):
  path = str(tmp_path / "clip.gif")
  images = [Image.fromarray(f) for f in _frames(4)]
  images[0].save(path, save_all=True, append_images=images[1:], duration=100, loop=0)
  frames = list(sources.open_source(path))
  assert len(frames) == 4 and frames[0].image.shape == (48, 64, 3)


def test_image_folder_in_name_order(tmp_path):
  for i, frame in enumerate(_frames(3)):
    cv2.imwrite(str(tmp_path / f"f{i:03d}.png"), frame)
  (tmp_path / "notes.txt").write_text("skip me")
  frames = list(sources.open_source(str(tmp_path), fps=5))
  assert [int(f.image.mean()) for f in frames] == [0, 20, 40]
  assert frames[2].timestamp == pytest.approx(0.4)


def test_bad_sources_raise_clear_errors(tmp_path):
  with pytest.raises(sources.SourceError, match="no such file or folder"):
    sources.open_source(str(tmp_path / "missing.mp4"))
  (tmp_path / "bad.mp4").write_bytes(b"not a video")
  with pytest.raises(sources.SourceError, match="cannot open video"):
    sources.open_source(str(tmp_path / "bad.mp4"))
  os.makedirs(tmp_path / "empty")
  with pytest.raises(sources.SourceError, match="no images in folder"):
    sources.open_source(str(tmp_path / "empty"))
  with pytest.raises(sources.SourceError, match="no camera found at index 7.*--source"):
    sources.open_source("7")


@pytest.mark.skipif(not os.path.isdir(MEDIA), reason="shared media clips not present")
def test_shared_classroom_gif():
  source = sources.open_source(os.path.join(MEDIA, "classroom.gif"))
  frames = list(source)
  assert len(frames) == 45 and frames[0].image.shape == (270, 480, 3)


class _FakeCamera:
  """cv2.VideoCapture stand-in for a webcam that offers only `offered` sizes (w, h)."""

  def __init__(self, offered, default=(640, 480)):
    self.offered, self.size, self.asked = offered, default, {}

  def __call__(self, index):
    return self

  def isOpened(self):  # pylint: disable=invalid-name
    return True

  def set(self, prop, value):
    self.asked[prop] = int(value)
    wanted = (self.asked.get(cv2.CAP_PROP_FRAME_WIDTH, self.size[0]),
              self.asked.get(cv2.CAP_PROP_FRAME_HEIGHT, self.size[1]))
    if wanted in self.offered:
      self.size = wanted
    return True

  def get(self, prop):
    return 30.0 if prop == cv2.CAP_PROP_FPS else 0.0

  def read(self):
    time.sleep(0.01)
    return True, np.zeros((self.size[1], self.size[0], 3), np.uint8)

  def release(self):
    pass


@pytest.mark.parametrize("offered, asked, given", [
    ([(640, 480), (1280, 720)], sources.CAMERA_SIZE, (1280, 720)),
    ([(640, 480), (1280, 720), (1920, 1080)], (1920, 1080), (1920, 1080)),
    ([(640, 480)], sources.CAMERA_SIZE, (640, 480)),  # It refuses HD: its own size.
])
def test_camera_opens_at_the_size_asked_or_says_what_it_gives(monkeypatch, offered, asked,
                                                              given):
  monkeypatch.setattr(sources.cv2, "VideoCapture", _FakeCamera(offered))
  source = sources.open_source("0", camera_size=asked)
  try:
    assert source.size == given and source.requested_size == asked
    frame = next(iter(source))
    assert frame.image.shape[:2] == (given[1], given[0])
    assert f"at {given[0]}x{given[1]}" in source.description
    assert ("does not offer" in source.description) == (given != asked)
  finally:
    source.close()


@pytest.mark.parametrize("text, size", [("1280x720", (1280, 720)), (" 1920X1080", (1920, 1080))])
def test_camera_size_parses(text, size):
  assert sources.parse_size(text) == size


@pytest.mark.parametrize("text", ["hd", "1280", "1280x", "0x0", "-1x720", "axb"])
def test_bad_camera_size_says_the_form(text):
  with pytest.raises(ValueError, match="WIDTHxHEIGHT"):
    sources.parse_size(text)
