"""Where the picture's boxes, arrows and arrow labels go, and the overlap checks that keep it legible.

The boxes sit on a fixed grid. Each arrow runs between its boxes' borders, and its label is placed
beside the line at the first of a few positions along it whose bounding box crosses no line, no box
and no other label. `collisions` reports what still overlaps; the tests require it to be empty.
The width of a label is estimated from its length (Helvetica at 12 px averages under 0.56 em a
character), so the checks are conservative rather than exact.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

BOX_WIDTH, BOX_HEIGHT = 250, 64
COLUMNS = (30, 410, 790, 1220, 1650)  # wider gaps right of the ALBs and services: room for labels
ROWS = (70, 210, 350, 490)
PARALLEL_OFFSET = 7  # px between the two lines of a pair of opposite arrows
CHAR_WIDTH = 7.0  # px per character of 12 px text, a little over Helvetica's average
LABEL_HEIGHT = 14.0  # px: ascent and descent of 12 px text
CLEARANCE = 3.0  # px kept free around a label
# Where along its line a label may sit (a fraction of the line), tried in this order, each side.
LABEL_POSITIONS = (0.5, 0.4, 0.6, 0.3, 0.7, 0.22, 0.78)


@dataclass(frozen=True)
class Rect:
    left: float
    top: float
    right: float
    bottom: float

    def intersects(self, other: Rect) -> bool:
        return not (
            self.right <= other.left
            or other.right <= self.left
            or self.bottom <= other.top
            or other.bottom <= self.top
        )

    def grown(self, by: float) -> Rect:
        return Rect(self.left - by, self.top - by, self.right + by, self.bottom + by)

    def crossed_by(self, segment: Segment) -> bool:
        """Whether any point of `segment` lies inside the rectangle (Liang-Barsky clipping)."""
        dx, dy = segment.x2 - segment.x1, segment.y2 - segment.y1
        low, high = 0.0, 1.0
        for p, q in (
            (-dx, segment.x1 - self.left),
            (dx, self.right - segment.x1),
            (-dy, segment.y1 - self.top),
            (dy, self.bottom - segment.y1),
        ):
            if p == 0:
                if q < 0:
                    return False
                continue
            t = q / p
            if p < 0:
                low = max(low, t)
            else:
                high = min(high, t)
            if low > high:
                return False
        return True


@dataclass(frozen=True)
class Segment:
    x1: float
    y1: float
    x2: float
    y2: float


@dataclass(frozen=True)
class Label:
    text: str
    x: float  # centre
    y: float  # centre

    @property
    def rect(self) -> Rect:
        return label_rect(self.text, self.x, self.y)

    @property
    def baseline(self) -> float:
        return round(self.y + 4, 1)


def label_rect(text: str, x: float, y: float) -> Rect:
    half_width, half_height = len(text) * CHAR_WIDTH / 2, LABEL_HEIGHT / 2
    return Rect(x - half_width, y - half_height, x + half_width, y + half_height)


def box_rect(column: int, row: int) -> Rect:
    x, y = COLUMNS[column], ROWS[row]
    return Rect(x, y, x + BOX_WIDTH, y + BOX_HEIGHT)


def anchor(box: Rect, towards: Rect) -> tuple[float, float]:
    """Where a line from `box` towards `towards` leaves its border (centre-to-centre, clipped)."""
    cx, cy = (box.left + box.right) / 2, (box.top + box.bottom) / 2
    tx, ty = (towards.left + towards.right) / 2, (towards.top + towards.bottom) / 2
    dx, dy = tx - cx, ty - cy
    if dx == 0 and dy == 0:
        return cx, cy
    scale = min(
        (BOX_WIDTH / 2) / abs(dx) if dx else float("inf"),
        (BOX_HEIGHT / 2) / abs(dy) if dy else float("inf"),
    )
    return round(cx + dx * scale, 1), round(cy + dy * scale, 1)


def connect(source: Rect, target: Rect, *, offset: bool) -> Segment:
    """The line between two boxes; `offset` shifts it aside, for the second of two opposite arrows."""
    x1, y1 = anchor(source, target)
    x2, y2 = anchor(target, source)
    if offset:
        length = max(((x2 - x1) ** 2 + (y2 - y1) ** 2) ** 0.5, 1.0)
        nx, ny = -(y2 - y1) / length * PARALLEL_OFFSET, (x2 - x1) / length * PARALLEL_OFFSET
        x1, y1, x2, y2 = (round(x1 + nx, 1), round(y1 + ny, 1), round(x2 + nx, 1), round(y2 + ny, 1))
    return Segment(x1, y1, x2, y2)


def place_label(
    text: str, line: Segment, lines: Sequence[Segment], boxes: Sequence[Rect], labels: Sequence[Label]
) -> Label:
    """The first spot beside `line` whose label crosses no line, box or placed label.

    At each position the label is pushed off the line along its normal just far enough that its
    rectangle clears it (the rectangle's half-extent in that direction, plus CLEARANCE).
    """
    dx, dy = line.x2 - line.x1, line.y2 - line.y1
    length = max((dx**2 + dy**2) ** 0.5, 1.0)
    nx, ny = -dy / length, dx / length
    half_width, half_height = len(text) * CHAR_WIDTH / 2, LABEL_HEIGHT / 2
    push = abs(nx) * half_width + abs(ny) * half_height + CLEARANCE
    candidates = [
        Label(
            text, round(line.x1 + dx * t + side * nx * push, 1), round(line.y1 + dy * t + side * ny * push, 1)
        )
        for t in LABEL_POSITIONS
        for side in (-1, 1)
    ]
    for candidate in candidates:
        rect = candidate.rect.grown(CLEARANCE - 0.5)
        if (
            not any(rect.crossed_by(other) for other in lines)
            and not any(rect.intersects(box) for box in boxes)
            and not any(rect.intersects(placed.rect) for placed in labels)
        ):
            return candidate
    return candidates[0]


def collisions(
    lines: Iterable[tuple[str, Segment]], boxes: Iterable[tuple[str, Rect]], labels: Iterable[Label]
) -> list[str]:
    """Every label that a line crosses or that overlaps a box or another label, described."""
    lines, boxes, labels = list(lines), list(boxes), list(labels)
    found = []
    for index, label in enumerate(labels):
        rect = label.rect
        found += [
            f"line {name} crosses label {label.text!r}" for name, line in lines if rect.crossed_by(line)
        ]
        found += [f"label {label.text!r} overlaps box {name}" for name, box in boxes if rect.intersects(box)]
        found += [
            f"labels {label.text!r} and {other.text!r} overlap"
            for other in labels[index + 1 :]
            if rect.intersects(other.rect)
        ]
    return found
