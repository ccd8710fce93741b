"""What hides part of a matched screen: another window (a dialog, a menu), the mouse pointer, the frame's edge.

A field under something else must never be read as a value. The screen's static parts are known
from the template's reference image: around every field and anchor there is a ring of label,
border and background that looks the same on every instance of the screen. Compared with the
reference (mapped into the frame by the match, with one gain and offset for the capture's levels),
that ring tells:

- covered: a large part of the ring looks different (another window lies over it), or the box's own
  ground is another shade than taught;
- outside the frame: the box is not (wholly) in the frame;
- covered by the pointer: a pointer sprite lies over the box (ocr_templates.pointer).

Texts near a box that vary between screens but are not fields (a clock, a list) touch only a small
part of a ring, sparsely; a window over the box changes most of it, densely.
"""
from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import cv2
import numpy as np

from qcedge.ocr_templates.pointer import PointerHit, find_pointers
from qcedge.ocr_templates.preprocess import to_grey

if TYPE_CHECKING:
    from qcedge.ocr_templates.model import Template

log = logging.getLogger(__name__)

Box = tuple[int, int, int, int]

RING = 0.6              # the ring around a box reaches this many box heights out (at least RING_MIN px)
RING_MIN = 6
BLUR = 1.5              # both images are smoothed this much (reference pixels) before comparing
STRONG = 48             # grey levels of difference that no capture, scaling or font hinting explains
SUBTLE = 14             # ... and what a window in the screen's own colours still shows
EDGE = 40               # gradient (reference) of a border or label stroke
EDGE_REACH = 0.3        # ... looked for this many box heights around the box (its outline, a label close by)
EDGE_MIN = 20           # a ring with fewer such pixels says nothing about lost edges
LOST_EDGES = 0.6        # a box whose border and label edges are mostly gone is under another window
NEAR = 3                # px: the band right around a box
AT_BOX = 0.15           # ... that much of it must differ for a window to lie over the box
COVERED_FAINT = 0.6     # ... over this much of a field's ring
COVERED_RING = 0.3      # a ring this much different is under another window
GROUND_SHIFT = 55       # the box's own ground this far from the taught shade: something else lies on it
VISIBLE_MIN = 0.5       # a ring less than this much inside the frame cannot say anything
POINTER_PAD = 0.9       # pointer search reaches this many pointer heights around a box

COVERED = "covered by another window"
POINTER = "covered by the pointer"
OUTSIDE = "outside the frame"


@dataclass(slots=True)
class Levels:
    """frame grey ~ gain * reference grey + offset (a capture card's levels)."""

    gain: float = 1.0
    offset: float = 0.0

    @classmethod
    def fit(cls, pairs: Iterable[tuple[np.ndarray, np.ndarray]]) -> "Levels":
        """From (frame pixels, reference pixels) of anchors that matched."""
        pairs = [(f, r) for f, r in pairs if f is not None and r is not None and f.shape == r.shape]
        if not pairs:
            return cls()
        frm = np.concatenate([f.ravel() for f, _ in pairs]).astype(np.float64)
        ref = np.concatenate([r.ravel() for _, r in pairs]).astype(np.float64)
        var = ref.var()
        gain = float(((ref - ref.mean()) * (frm - frm.mean())).mean() / var) if var > 1e-6 else 1.0
        gain = min(max(gain, 0.5), 2.0)
        return cls(gain, float(frm.mean() - gain * ref.mean()))


@dataclass(slots=True)
class Placement:
    """A template placed in a frame: frame = reference * scale + offset."""

    frame: np.ndarray              # grey frame
    reference: np.ndarray          # grey reference image
    scale: float
    offset: tuple[float, float]
    levels: Levels = field(default_factory=Levels)

    def to_frame(self, box: Box) -> Box:
        x, y, w, h = box
        s, (ox, oy) = self.scale, self.offset
        return (round(x * s + ox), round(y * s + oy), max(1, round(w * s)), max(1, round(h * s)))

    def inside(self, box: Box) -> float:
        """The fraction of a reference box that lies inside the frame."""
        fx, fy, fw, fh = self.to_frame(box)
        H, W = self.frame.shape[:2]
        ix = max(0, min(W, fx + fw) - max(0, fx))
        iy = max(0, min(H, fy + fh) - max(0, fy))
        return (ix * iy) / float(fw * fh)

    def region(self, box: Box) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(frame pixels mapped onto the reference grid, reference pixels, mask of pixels inside the frame) of a
        reference box; both images smoothed alike."""
        x, y, w, h = box
        s, (ox, oy) = self.scale, self.offset
        m = np.array([[s, 0.0, ox + s * x], [0.0, s, oy + s * y]], dtype=np.float64)
        src = self.frame
        if s > 1.3:   # sample a bigger frame without aliasing
            k = int(2 * round(s) + 1)
            src = cv2.GaussianBlur(src, (k, k), 0.5 * s)
        frm = cv2.warpAffine(src, m, (w, h), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                             borderMode=cv2.BORDER_CONSTANT, borderValue=0)
        H, W = self.frame.shape[:2]
        xs = ox + s * (x + np.arange(w))
        ys = oy + s * (y + np.arange(h))
        valid = ((ys >= 0) & (ys <= H - 1))[:, None] & ((xs >= 0) & (xs <= W - 1))[None, :]
        ref = self.reference[y:y + h, x:x + w]
        frm = cv2.GaussianBlur(frm, (0, 0), BLUR)
        ref = cv2.GaussianBlur(ref, (0, 0), BLUR)
        return frm, ref, valid

    def difference(self, box: Box, strong: float = STRONG) -> tuple[np.ndarray, np.ndarray]:
        """(strong-difference mask, inside-the-frame mask) over a reference box."""
        frm, ref, valid = self.region(box)
        expected = self.levels.gain * ref.astype(np.float32) + self.levels.offset
        diff = np.abs(frm.astype(np.float32) - expected)
        return (diff > strong) & valid, valid


def _expand(box: Box, r: int, width: int, height: int) -> Box:
    x, y, w, h = box
    x0, y0 = max(0, x - r), max(0, y - r)
    x1, y1 = min(width, x + w + r), min(height, y + h + r)
    return (x0, y0, max(1, x1 - x0), max(1, y1 - y0))


def ring_state(place: Placement, box: Box, variable: Sequence[Box] = (), strong: float = STRONG,
               reach: int | None = None) -> tuple[float, float]:
    """(fraction of the ring's static pixels that differ strongly, fraction of the ring inside the frame).

    The ring is the reference box grown by RING box heights, without the box itself and without any
    `variable` box (other fields: their contents change between screens).
    """
    rh, rw = place.reference.shape[:2]
    r = reach if reach is not None else max(RING_MIN, round(RING * box[3]))
    outer = _expand(box, r, rw, rh)
    ox, oy, ow, oh = outer
    if ow < 3 or oh < 3:
        return 0.0, 0.0
    strong_mask, valid = place.difference(outer, strong)
    static = np.ones((oh, ow), bool)
    for vx, vy, vw, vh in [box, *variable]:
        x0, y0 = max(0, vx - ox - 1), max(0, vy - oy - 1)
        x1, y1 = min(ow, vx + vw - ox + 1), min(oh, vy + vh - oy + 1)
        if x1 > x0 and y1 > y0:
            static[y0:y1, x0:x1] = False
    n_static = int(static.sum())
    if n_static == 0:
        return 0.0, 0.0
    seen = static & valid
    n_seen = int(seen.sum())
    if n_seen == 0:
        return 0.0, 0.0
    return float((strong_mask & seen).sum()) / n_seen, n_seen / n_static


def lost_edges(place: Placement, box: Box, variable: Sequence[Box] = ()) -> float:
    """The fraction of the reference's edges around and on a box's outline (its border, the label beside
    it) that the frame no longer shows: a window over the box hides them all, a different value none."""
    rh, rw = place.reference.shape[:2]
    r = max(3, round(EDGE_REACH * box[3]))
    outer = _expand(box, r, rw, rh)
    ox, oy, ow, oh = outer
    if ow < 5 or oh < 5:
        return 0.0
    frm, ref, valid = place.region(outer)

    def grad(a: np.ndarray) -> np.ndarray:
        a = a.astype(np.float32)
        return cv2.magnitude(cv2.Sobel(a, cv2.CV_32F, 1, 0, ksize=3), cv2.Sobel(a, cv2.CV_32F, 0, 1, ksize=3))

    gr, gf = grad(ref) * abs(place.levels.gain), grad(frm)
    static = np.ones((oh, ow), bool)
    bx, by, bw, bh = box
    static[max(0, by - oy + 2):max(0, by - oy + bh - 2), max(0, bx - ox + 2):max(0, bx - ox + bw - 2)] = False
    for vx, vy, vw, vh in variable:
        x0, y0 = max(0, vx - ox - 1), max(0, vy - oy - 1)
        x1, y1 = min(ow, vx + vw - ox + 1), min(oh, vy + vh - oy + 1)
        if x1 > x0 and y1 > y0:
            static[y0:y1, x0:x1] = False
    edges = (gr > EDGE) & static & valid
    n = int(edges.sum())
    if n < EDGE_MIN:
        return 0.0
    kept = cv2.dilate((gf > 0.35 * EDGE).astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
    return 1.0 - float((edges & kept).sum()) / n


def ground_shift(place: Placement, box: Box) -> float:
    """How far (grey levels) the box's ground in the frame lies from the taught ground."""
    frm, ref, valid = place.region(box)
    if not valid.any():
        return 0.0
    expected = place.levels.gain * float(np.median(ref)) + place.levels.offset
    return abs(float(np.median(frm[valid])) - expected)


def hidden_reason(place: Placement, box: Box, variable: Sequence[Box] = (),
                  pointers: Sequence[PointerHit] = (), subtle: bool = False) -> str | None:
    """Why a reference box cannot be read in this frame, or None when it can.

    With `subtle` (for an anchor that already failed to match), a window drawn in nearly the screen's
    own colours counts too: its ring differs faintly but over most of its area.
    """
    if place.inside(box) < 0.999:
        return OUTSIDE
    fb = place.to_frame(box)
    if any(p.overlaps(fb) for p in pointers):
        return POINTER
    changed, seen = ring_state(place, box, variable)
    # what differs must reach the box itself (a window ending a few pixels short of it hides nothing)
    at_box = ring_state(place, box, variable, reach=NEAR)[0]
    if seen >= VISIBLE_MIN and changed >= COVERED_RING and at_box >= AT_BOX:
        return COVERED
    if seen >= VISIBLE_MIN:
        # a window in nearly the screen's own colours: faint, but over most of the ring (for an anchor that
        # already failed to match, over a good part of it)
        faint = ring_state(place, box, variable, SUBTLE)[0]
        if faint >= (COVERED_RING if subtle else COVERED_FAINT) and \
                ring_state(place, box, variable, SUBTLE, reach=NEAR)[0] >= AT_BOX:
            return COVERED
        if lost_edges(place, box, variable) >= LOST_EDGES:
            return COVERED
    if ground_shift(place, box) >= GROUND_SHIFT and changed >= COVERED_RING / 3:
        return COVERED
    return None


def search_pointers(frame: np.ndarray, boxes: Iterable[Box], scale: float) -> list[PointerHit]:
    """Pointers over any of these frame boxes. Boxes close together are searched as one region."""
    H, W = frame.shape[:2]
    pad = max(8, round(POINTER_PAD * 20 * scale))
    regions: list[list[int]] = []
    for x, y, w, h in sorted(boxes, key=lambda b: (b[1], b[0])):
        r = [max(0, x - pad), max(0, y - pad), min(W, x + w + pad), min(H, y + h + pad)]
        if r[2] <= r[0] or r[3] <= r[1]:
            continue
        for q in regions:
            ux0, uy0, ux1, uy1 = min(q[0], r[0]), min(q[1], r[1]), max(q[2], r[2]), max(q[3], r[3])
            union = (ux1 - ux0) * (uy1 - uy0)
            if union <= (q[2] - q[0]) * (q[3] - q[1]) + (r[2] - r[0]) * (r[3] - r[1]):
                q[:] = [ux0, uy0, ux1, uy1]
                break
        else:
            regions.append(r)
    hits: list[PointerHit] = []
    for x0, y0, x1, y1 in regions:
        for h in find_pointers(frame[y0:y1, x0:x1], scale):
            bx, by, bw, bh = h.box
            hits.append(PointerHit((bx + x0, by + y0, bw, bh), h.shape, h.score))
    return hits


_REFERENCES: dict[tuple[str, float], np.ndarray] = {}


def reference_grey(template: "Template") -> np.ndarray | None:
    """The template's reference image, grey (cached by path and modification time); None when unreadable."""
    path = template.reference_path
    if path is None:
        return None
    try:
        key = (str(path), path.stat().st_mtime)
    except OSError:
        return None
    img = _REFERENCES.get(key)
    if img is None:
        img = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
        if img is None:
            return None
        if len(_REFERENCES) > 64:
            _REFERENCES.clear()
        _REFERENCES[key] = img
    return img


def placement(image: np.ndarray, template: "Template", scale: float, offset: tuple[float, float],
              reference: np.ndarray | None = None, anchors: Iterable[Box] | None = None) -> Placement | None:
    """The template placed in a frame, with the capture's levels fitted on its (visible) anchors."""
    ref = reference if reference is not None else reference_grey(template)
    if ref is None:
        return None
    place = Placement(to_grey(image), ref, scale, offset)
    pairs = []
    for box in (anchors if anchors is not None else (a.box.as_tuple() for a in template.anchors)):
        frm, r, valid = place.region(box)
        if valid.all():
            pairs.append((frm, r))
    place.levels = Levels.fit(pairs)
    return place


CUT_INK = 40            # grey levels from the box's ground that count as ink for the cut-off test
CUT_REACH = 0.8         # how far past the box edge (box heights) a value may continue and still be its own
CUT_NEAR = 0.45         # the value must reach this close (box heights) to an edge to continue past it


def cut_off_reason(place: Placement, box: Box, variable: Sequence[Box] = ()) -> str | None:
    """Why the value in a reference box may be longer than the box, or None.

    - a stroke crosses the box's edge (part of a character inside, part outside);
    - the value reaches an edge and more ink, not there in the reference (a label is), follows right past
      it on the same line: the box was drawn around a shorter value.
    Ink of other fields (`variable`) beside the box is not taken for a continuation.
    """
    rh, rw = place.reference.shape[:2]
    x, y, w, h = box
    g = max(3, round(CUT_REACH * h))
    x0, x1 = max(0, x - g), min(rw, x + w + g)
    if x1 - x0 < 3 or h < 3:
        return None
    frm, ref, valid = place.region((x0, y, x1 - x0, h))
    if not valid.all():
        return None
    bx0, bx1 = x - x0, x - x0 + w
    inner_f = frm[:, bx0:bx1].astype(np.float32)
    inner_r = ref[:, bx0:bx1].astype(np.float32)
    bg_f, bg_r = float(np.median(inner_f)), float(np.median(inner_r))
    ink_f = np.abs(frm.astype(np.float32) - bg_f) > CUT_INK
    ink_r = np.abs(ref.astype(np.float32) - bg_r) > CUT_INK
    # grid lines and box outlines run the whole height or width: not text
    ink_f[:, ink_f.mean(axis=0) > 0.85] = False
    ink_f[ink_f[:, bx0:bx1].mean(axis=1) > 0.85, :] = False
    outside = np.ones(x1 - x0, bool)
    outside[bx0:bx1] = False
    for vx, vy, vw, vh in variable:   # another field's value beside this one is not a continuation
        a0, a1 = max(0, vx - x0), min(x1 - x0, vx + vw - x0)
        if a1 > a0 and vy < y + h and y < vy + vh:
            span = np.zeros(x1 - x0, bool)
            span[a0:a1] = True
            ink_f[:, span & outside] = False
    cols = np.flatnonzero(ink_f[:, bx0:bx1].any(axis=0))
    if cols.size == 0:
        return None
    near = max(2, round(CUT_NEAR * h))
    # what the reference has there (a label, a unit, a dropdown button), give or take a re-rendering's drift
    drift = max(5, 2 * round(0.25 * h) + 1)
    known = cv2.dilate(ink_r.astype(np.uint8), np.ones((5, drift), np.uint8)).astype(bool)
    extra = ink_f & ~known
    n, labels, stats, _ = cv2.connectedComponentsWithStats(ink_f.astype(np.uint8), connectivity=8)
    for i in range(1, n):
        cx, cy, cw, ch, area = stats[i]
        if area < 3:
            continue
        inside = max(0, min(cx + cw, bx1) - max(cx, bx0))
        if inside >= 2 and (cx <= bx0 - 2 or cx + cw >= bx1 + 2) and extra[labels == i].any():
            return "may be cut off: the text crosses the box's edge"
    if cols[-1] >= w - near and _follows(extra[:, bx1:], near):
        return "may be cut off: the text goes on past the box's right edge"
    if cols[0] < near and _follows(extra[:, :bx0][:, ::-1], near):
        return "may be cut off: the text goes on past the box's left edge"
    return None


def _follows(strip: np.ndarray, gap: int) -> bool:
    """Whether ink starts within `gap` columns of the box edge (column 0 of `strip`) and is character-sized."""
    cols = np.flatnonzero(strip.sum(axis=0) >= 2)
    return bool(cols.size) and int(cols[0]) <= gap and int(strip[:, cols[0]:cols[0] + gap].sum()) >= 6
