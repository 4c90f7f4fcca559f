"""Face detection and the shared FER2013-style 48x48 crop.

    detector = faces.create_detector("default")       # CenterFace
    detections = detector.detect(frame_bgr)           # [Detection(box, score, ...)]
    crops = faces.crop_faces(frame_bgr, detections)   # (n, 48, 48) uint8
"""

from ferjax.faces.crop import (FACE_SIZE, FRAMINGS, Framing, crop_face, crop_faces,
                               crop_square, eye_roll, framing_for)
from ferjax.faces.pixels import to_bgr, to_gray
from ferjax.faces.detectors import (DEFAULT, DETECTORS, BlazeFace, CenterFace,
                                    DetectorUnavailable, FaceDetector, Haar,
                                    create_detector, detector_key)
from ferjax.faces.geometry import Box, Detection, centre_inside, iou, largest_face, nms

__all__ = [
    "FACE_SIZE", "FRAMINGS", "Framing", "crop_face", "crop_faces", "crop_square",
    "eye_roll", "framing_for", "to_bgr", "to_gray", "DEFAULT", "DETECTORS", "BlazeFace",
    "CenterFace", "DetectorUnavailable", "FaceDetector", "Haar", "create_detector",
    "detector_key", "Box", "Detection", "centre_inside", "iou", "largest_face", "nms",
]
