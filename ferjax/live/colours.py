"""One colour per label, shared by the live overlay and the session report."""

from __future__ import annotations

from ferjax.live.face_quality import TOO_SMALL
from ferjax.live.smoothing import UNCERTAIN

# RGB hex; labels outside the table get a matplotlib default colour in plots.
EMOTION_COLOURS: dict[str, str] = {
    "angry": "#d62728", "disgust": "#7f9a2b", "fear": "#9467bd", "happy": "#f2c318",
    "sad": "#1f77b4", "surprise": "#ff7f0e", "neutral": "#9fb3c8",
    "contempt": "#8c564b", UNCERTAIN: "#dddddd", TOO_SMALL: "#777777",
}
UNKNOWN_BGR = (255, 255, 255)


def bgr(label: str) -> tuple[int, int, int]:
  """The label's colour as an OpenCV (B, G, R) tuple; white if it has none."""
  colour = EMOTION_COLOURS.get(label)
  if colour is None:
    return UNKNOWN_BGR
  r, g, b = (int(colour[i:i + 2], 16) for i in (1, 3, 5))
  return b, g, r
