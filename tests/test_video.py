"""Frame sources: video files, GIFs, image folders, and a missing camera."""

import os

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
