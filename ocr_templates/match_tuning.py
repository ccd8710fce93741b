"""The matcher's numbers, each with what it changes (ocr_templates.match explains the stages)."""
from __future__ import annotations

COARSE_WIDTH = 400          # the frame is searched at about this width first
COARSE_MIN_SIDE = 3          # an anchor smaller than this at the coarse level is searched finer
SCALE_STEP = 1.12           # ratio between neighbouring coarse scales
HYPOTHESES = 3              # coarse peaks verified at full resolution
FINE_STEPS = (0.94, 0.96, 0.98, 1.0, 1.02, 1.04, 1.06)   # scales tried around a coarse hypothesis
FINE_HALF_FROM = 1200       # frames at least this wide are refined at half resolution
LEAD_MIN = 0.5              # a hypothesis whose own anchor scores below this is dropped
PHOTO_OK = 12.0             # mean grey-level difference an anchor may show after the common gain/offset
SNAP_TO_USUAL = 0.03        # a lead scale within 3 % of the template's usual scale is taken as that scale
FIT_OUTLIER = 4.0           # px: an anchor this far from where the others put it is left out of the fit
FIT_SPREAD = 25.0           # px (RMS from their centre): anchors closer together do not fit a scale of their own
HIDDEN_SPREAD = 0.04         # visible anchors must lie this far apart (of the screen size) to place it alone
PHOTO_TRUST = 0.7           # anchors at least this alike set the common gain/offset
PHOTO_SPAN = 24.0           # ... beyond that its score fades to 0 over this many levels
TEXT_CHECK_BELOW = 0.93     # with an engine, a text anchor scoring below this is read
TEXT_AGREE = 0.9            # similarity (difflib ratio, look-alikes folded) a text anchor must reach
RESCORE_BELOW = 0.95        # an anchor scoring less at the fitted place is also tried 1.5 % bigger/smaller
LOCAL_CHECK = 16.0          # a text anchor with a character-sized spot differing this much (grey levels) is read
LOCAL_OK = 30.0             # ... and anchors that cannot be read lose score beyond this
LOCAL_SPAN = 20.0
UNREAD_TEXT_MARGIN = 0.05   # without an OCR engine, text anchors must score this much above the anchor floor
LEAD_SEEN = 0.8             # a lead found this clearly over the whole frame needs no second lead
PROBE_MIN = 0.7             # coarse peak a quick probe at the usual scale must reach to be verified
STEADY_DROP = 0.02          # a warm match scoring within this of last time's score ends Matcher.best
CONCLUSIVE = 0.95           # Matcher.best stops at a match scoring this high ...
CONCLUSIVE_ANCHOR = 0.9     # ... with every anchor at least this
GOOD_ENOUGH = 0.9           # a verified score this high ends the search early
BLUR_SIGMA = 1.2            # light blur on both sides: robust to capture-card blur and JPEG
