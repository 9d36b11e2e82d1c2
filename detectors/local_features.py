"""Local-feature verification: is an official photo somewhere in this image, cropped, rotated or pasted small?

A whole-image hash sees the whole frame, so a crop of 30%, a rotation of a few degrees, a white
square around the photo or the photo inside a collage or a page screenshot changes every bit of
it. Keypoints do not care about the frame: ORB corners (with their binary descriptors) of the
official photo are found again in the copy, and a copy is the official photo when enough of the
matched corners agree on ONE similarity transform (rotation, uniform scale and shift; estimated
with RANSAC), which is what cropping, padding, rotating, resizing and pasting do. Unrelated photos
share some corner descriptors by chance, but their matches scatter: they do not line up under a
single rotation and scale. A mirror image reverses the corners' orientation, so each official
photo is also described mirrored.

Descriptors of every official image are stacked in one matrix; a query's descriptors are matched
against all of them at once (OpenCV's brute-force Hamming matcher, two nearest neighbours, Lowe's
ratio test), grouped by official image, and only the images with enough matches are verified.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image

#: Long side (px) the images are described at: corners of product photos are stable there and
#: ORB costs a few milliseconds; smaller images are enlarged to at least MIN_SIDE.
WORK_SIDE = 512
MIN_SIDE = 320
#: Corners kept per image.
N_FEATURES = 700
#: A large query is described up to this long side, with up to this many corners.
QUERY_SIDE = 1024
MAX_QUERY_FEATURES = 2000
#: Lowe's ratio: a match counts when its nearest descriptor is clearly nearer than the second.
RATIO = 0.8
#: Matches that must agree on one similarity transform for the copy to be the official image.
MIN_INLIERS = 16
#: Reprojection error (px at the work size) within which a match agrees with the transform.
RANSAC_PX = 6.0
#: LSH tables, key bits and probes for the search over the whole catalogue (OpenCV FLANN).
LSH_TABLES = 8
LSH_KEY_BITS = 16
LSH_CHECKS = 64
#: An image with fewer matches than this is not verified at all.
MIN_MATCHES = MIN_INLIERS
#: Scale of the official image in the copy: outside this range the transform is implausible.
SCALE_RANGE = (0.08, 12.0)

_ORBS: dict[int, object] = {}


def _orb(n_features: int):
    if n_features not in _ORBS:  # kept per process: creating one costs more than using it on a small image
        # OpenCV's stubs name the factory ORB.create; cv2.ORB_create is the same function.
        _ORBS[n_features] = cv2.ORB_create(nfeatures=n_features, scaleFactor=1.2, nlevels=8, fastThreshold=12)  # type: ignore[attr-defined]
    return _ORBS[n_features]


@dataclass(frozen=True)
class Features:
    points: np.ndarray  # float32, (n, 2), at the work size
    descriptors: np.ndarray  # uint8, (n, 32)

    def __len__(self) -> int:
        return len(self.points)


def _grey(img: Image.Image, work_side: int) -> np.ndarray:
    grey = img.convert("L")
    scale = min(1.0, work_side / max(grey.size))
    if max(grey.size) * scale < MIN_SIDE:
        scale = MIN_SIDE / max(grey.size)
    if scale != 1.0:
        grey = grey.resize((max(1, round(grey.width * scale)), max(1, round(grey.height * scale))), Image.Resampling.BICUBIC)
    return np.asarray(grey)


def describe(img: Image.Image, *, query: bool = False) -> Features:
    """ORB corners and descriptors of an image (any mode; transparency should be flattened first).
    A query (a listing photo, a page screenshot) is described larger and with more corners when
    it is large: the official photo may fill only a third of it, among text and other photos."""
    work_side, n_features = WORK_SIDE, N_FEATURES
    if query and max(img.size) > WORK_SIDE:
        work_side = min(QUERY_SIDE, max(img.size))
        n_features = round(N_FEATURES * (work_side / WORK_SIDE) ** 2 * img.width * img.height / max(img.size) ** 2)
        n_features = max(N_FEATURES, min(MAX_QUERY_FEATURES, n_features))
    keypoints, descriptors = _orb(n_features).detectAndCompute(_grey(img, work_side), None)
    if descriptors is None or not keypoints:
        return Features(np.empty((0, 2), np.float32), np.empty((0, 32), np.uint8))
    return Features(np.array([k.pt for k in keypoints], dtype=np.float32), descriptors)


@dataclass(frozen=True)
class Verified:
    #: Row of the matched image in the index.
    owner: int
    inliers: int
    matches: int
    #: Scale and rotation (degrees) of the official image in the copy.
    scale: float
    rotation: float


class LocalIndex:
    """The local features of several images (owners 0..n-1), searched together."""

    def __init__(self, features: list[Features]):
        self.count = len(features)
        self.points = np.concatenate([f.points for f in features]) if features else np.empty((0, 2), np.float32)
        self.descriptors = np.concatenate([f.descriptors for f in features]) if features else np.empty((0, 32), np.uint8)
        self.owners = np.concatenate([np.full(len(f), i, dtype=np.int32) for i, f in enumerate(features)]) \
            if features else np.empty(0, np.int32)
        self._exact = cv2.BFMatcher(cv2.NORM_HAMMING)
        self._lsh: cv2.FlannBasedMatcher | None = None

    @classmethod
    def from_arrays(cls, points: np.ndarray, descriptors: np.ndarray, owners: np.ndarray, count: int) -> LocalIndex:
        index = cls([])
        index.points, index.descriptors, index.owners, index.count = points, descriptors, owners, count
        return index

    def _approximate(self):
        """Locality-sensitive hashing over every descriptor (built on first use, about 0.1 s for
        100,000): an exact scan costs about 1 s per query for a 60-image catalogue, LSH a tenth."""
        if self._lsh is None:
            lsh = cv2.FlannBasedMatcher(dict(algorithm=6, table_number=LSH_TABLES, key_size=LSH_KEY_BITS,
                                             multi_probe_level=1), dict(checks=LSH_CHECKS))
            lsh.add([self.descriptors])
            lsh.train()
            self._lsh = lsh
        return self._lsh

    def search(self, query: Features, only: set[int] | None = None) -> Verified | None:
        """The image (among ``only``, if given) best verified in ``query``, or None."""
        if len(query) < MIN_MATCHES or len(self.descriptors) < 2:
            return None
        if only is not None:
            rows = np.flatnonzero(np.isin(self.owners, list(only)))
            if len(rows) < 2:
                return None
            train_pts, train_owner = self.points[rows], self.owners[rows]
            pairs = self._exact.knnMatch(query.descriptors, self.descriptors[rows], k=2)
        else:
            train_pts, train_owner = self.points, self.owners
            pairs = self._approximate().knnMatch(query.descriptors, k=2)
        q_idx, t_idx = [], []
        for pair in pairs:
            if len(pair) == 2 and pair[0].distance < RATIO * pair[1].distance:
                q_idx.append(pair[0].queryIdx)
                t_idx.append(pair[0].trainIdx)
        if len(q_idx) < MIN_MATCHES:
            return None
        q_idx_a, t_idx_a = np.array(q_idx), np.array(t_idx)
        owner_of = train_owner[t_idx_a]
        counts = np.bincount(owner_of, minlength=self.count)
        best: Verified | None = None
        for owner in np.argsort(-counts)[:5]:  # the few images with most matches; the rest cannot win
            if counts[owner] < MIN_MATCHES:
                break
            sel = owner_of == owner
            verified = _verify(train_pts[t_idx_a[sel]], query.points[q_idx_a[sel]], int(owner))
            if verified and (best is None or verified.inliers > best.inliers):
                best = verified
        return best


def _verify(src: np.ndarray, dst: np.ndarray, owner: int) -> Verified | None:
    matrix, mask = cv2.estimateAffinePartial2D(src, dst, method=cv2.RANSAC, ransacReprojThreshold=RANSAC_PX,
                                               maxIters=2000, confidence=0.995)
    if matrix is None or mask is None:
        return None
    keep = mask.ravel().astype(bool)
    inliers = int(keep.sum())
    if inliers < MIN_INLIERS:
        return None
    # several corners of the official image matched to one corner of the copy is not agreement
    if len(np.unique(np.round(dst[keep]).astype(np.int32), axis=0)) < MIN_INLIERS:
        return None
    a, b = float(matrix[0, 0]), float(matrix[1, 0])
    scale = float(np.hypot(a, b))
    if not SCALE_RANGE[0] <= scale <= SCALE_RANGE[1]:
        return None
    return Verified(owner, inliers, len(src), round(scale, 3), round(float(np.degrees(np.arctan2(b, a))), 1))
