"""Tracking quality of a scan against a test clip's ground truth: purity, merged identities, ID switches.

Each face of each track is labelled with the person whose true eye midpoint (``truth.json`` of
``make_test_video``) lies inside its box in that frame (the nearest to the box centre when several
do; unlabelled when none: a false detection). Then:

- purity: sum over tracks of the largest one-person share of its labelled faces, over all
  labelled faces (1.0: no track ever holds two people);
- merged: tracks in which two or more people each have at least ``MIN_FACES`` faces;
- ID switches: for each person, how often consecutive detections of them sit in different tracks;
- fragments: tracks per person (1 is ideal; more means a person's track was split).
"""
from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

import numpy as np

MIN_FACES = 2


def label_faces(scan: dict[str, Any], truth: dict[str, Any]) -> list[tuple[int, int, str | None]]:
    """(track, frame, person or None) for every face of every track."""
    by_frame: dict[int, list[tuple[str, np.ndarray]]] = defaultdict(list)
    for t in truth["truth"]:
        by_frame[int(t["frame"])].append((t["person"], np.asarray(t["eyes_mid"], float)))
    out = []
    for tr in scan["tracks"]:
        for f in tr["faces"]:
            l, t, r, b = f["box"]
            pad = 0.1 * (r - l)
            inside = [(p, at) for p, at in by_frame.get(int(f["frame"]), [])
                      if l - pad <= at[0] <= r + pad and t - pad <= at[1] <= b + pad]
            centre = np.array([(l + r) / 2, (t + b) / 2])
            who = min(inside, key=lambda pa: float(np.linalg.norm(pa[1] - centre)))[0] if inside else None
            out.append((int(tr["track"]), int(f["frame"]), who))
    return out


def track_metrics(scan: dict[str, Any], truth: dict[str, Any]) -> dict[str, Any]:
    labels = label_faces(scan, truth)
    per_track: dict[int, Counter] = defaultdict(Counter)
    for track, _, who in labels:
        if who is not None:
            per_track[track][who] += 1
    labelled = sum(sum(c.values()) for c in per_track.values())
    purity = sum(max(c.values()) for c in per_track.values()) / labelled if labelled else float("nan")
    merged = sum(1 for c in per_track.values() if sum(v >= MIN_FACES for v in c.values()) >= 2)
    switches, fragments = 0, {}
    for person in truth["people"]:
        seq = sorted((frame, track) for track, frame, who in labels if who == person)
        switches += sum(a[1] != b[1] for a, b in zip(seq, seq[1:]))
        fragments[person] = len({t for _, t in seq})
    return {"faces": len(labels), "labelled": labelled, "false_detections": len(labels) - labelled,
            "tracks": len(scan["tracks"]), "purity": purity, "merged": merged, "id_switches": switches,
            "fragments": fragments}
