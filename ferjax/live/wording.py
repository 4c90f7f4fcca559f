"""Session facts in plain words: clock times and the class mood in one sentence.

Photo sessions get a sentence about their faces instead (`photos_sentence`).

The sentence names the emotion read most often, then up to two stretches of the
session in which another emotion stood out: its share of the readable time in
consecutive timeline bins exceeds its session share by `STANDOUT` and is at
least `MIN_SHARE` ("mostly neutral; happier from 3:10 to 3:40"). Uncertain and
too-small time is left out of those shares and told in a sentence of its own.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ferjax.live.face_quality import TOO_SMALL
from ferjax.live.smoothing import UNCERTAIN

STANDOUT = 0.15   # Share above the session's own that makes a stretch stand out.
MIN_SHARE = 0.25  # ... and the least share it must reach there.
MAX_STRETCHES = 2
COMPARATIVES = {"angry": "angrier", "disgust": "more disgusted", "fear": "more fearful",
                "happy": "happier", "sad": "sadder", "surprise": "more surprised",
                "neutral": "more neutral"}


def clock(seconds: float) -> str:
  """Seconds from the start as m:ss (h:mm:ss from an hour)."""
  total = max(int(round(seconds)), 0)
  hours, rest = divmod(total, 3600)
  minutes, secs = divmod(rest, 60)
  return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def comparative(emotion: str) -> str:
  return COMPARATIVES.get(emotion, f"more {emotion}")


def readable_shares(share: Mapping[str, float], emotions: Sequence[str]
                    ) -> dict[str, float] | None:
  """Shares of the emotions among readable time (None when nothing was readable)."""
  readable = sum(share.get(e, 0.0) for e in emotions)
  if readable <= 0:
    return None
  return {e: share.get(e, 0.0) / readable for e in emotions}


def _stretches(emotion: str, overall: float, timeline: Sequence[Mapping[str, Any]],
               emotions: Sequence[str]) -> list[tuple[float, float, float]]:
  """(excess x seconds, start_s, end_s) of each run of bins where `emotion` stands out."""
  runs, current = [], None
  for b in timeline:
    shares = readable_shares(b.get("share") or {}, emotions)
    value = shares[emotion] if shares else 0.0
    if shares and value >= max(MIN_SHARE, overall + STANDOUT):
      weight = (value - overall) * (b["end_s"] - b["start_s"])
      if current is None:
        current = [weight, b["start_s"], b["end_s"]]
      else:
        current[0] += weight
        current[2] = b["end_s"]
    elif current is not None:
      runs.append(tuple(current))
      current = None
  if current is not None:
    runs.append(tuple(current))
  return runs


def mood_sentence(emotions: Sequence[str], share: Mapping[str, float],
                  timeline: Sequence[Mapping[str, Any]], start_s: float = 0.0) -> str:
  """'Mostly neutral; happier from 3:10 to 3:40.' (see the module docstring)."""
  overall = readable_shares(share, emotions)
  if overall is None:
    return "No emotion could be read."
  top = max(emotions, key=lambda e: (overall[e], -list(emotions).index(e)))
  if overall[top] >= 0.5:
    sentence = f"Mostly {top}"
  else:
    sentence = f"Mixed; {top} most often ({overall[top]:.0%} of readable time)"
  stretches = []
  for emotion in emotions:
    if emotion != top:
      stretches += [(run, emotion) for run in _stretches(emotion, overall[emotion],
                                                         timeline, emotions)]
  stretches.sort(key=lambda item: -item[0][0])
  chosen = sorted(stretches[:MAX_STRETCHES], key=lambda item: item[0][1])
  parts = [f"{comparative(emotion)} from {clock(begin - start_s)} to {clock(end - start_s)}"
           for (_, begin, end), emotion in chosen]
  if parts:
    sentence += "; " + " and ".join(parts)
  elif len(timeline) > 1 and overall[top] >= 0.5:
    sentence += " throughout"
  return sentence + "."


def label_counts(photos: Sequence[Mapping[str, Any]], labels: Sequence[str]
                 ) -> dict[str, int]:
  """Faces per label over the photos of a photo session (summary.json's `photos`)."""
  return {label: sum(row["labels"].get(label, 0) for row in photos) for label in labels}


def photos_sentence(emotions: Sequence[str], photos: Sequence[Mapping[str, Any]]) -> str:
  """'12 faces in 5 photos; happy most often (7 of 12).' from per-photo label counts."""
  faces = sum(row["faces"] for row in photos)
  counts = label_counts(photos, emotions)
  top = max(emotions, key=lambda e: counts[e])
  return (f"{faces} faces in {len(photos)} photos; "
          + (f"{top} most often ({counts[top]} of {faces})." if counts[top]
             else "no emotion could be read."))


def unreadable_sentence(share: Mapping[str, float], photos: bool = False) -> str:
  """What could not be read: uncertain and too-small time (or faces, for photos)."""
  uncertain, small = share.get(UNCERTAIN, 0.0), share.get(TOO_SMALL, 0.0)
  if uncertain + small <= 0:
    return ("Every face could be read." if photos
            else "Faces could be read all the time they were visible.")
  what = "of the faces" if photos else "of the visible time"
  return (f"Not readable: {uncertain + small:.0%} {what} (uncertain {uncertain:.0%}, "
          f"too small {small:.0%}).")
