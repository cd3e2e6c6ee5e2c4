"""Bar charts as plain SVG geometry (no JavaScript, no CDN): each chart also renders as a data table, so
screen-reader users get the numbers, not a picture of them."""

from dataclasses import dataclass

WIDTH = 640
HEIGHT = 200
GAP = 4
AXIS = 24  # room under the bars for labels


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    label: str
    value: str


def bars(values: list[tuple[str, float, str]], maximum: float) -> list[Bar]:
    """``values`` as (label, value, shown value); heights scale to ``maximum``."""
    if not values:
        return []
    slot = WIDTH / len(values)
    usable = HEIGHT - AXIS
    found = []
    for index, (label, value, shown) in enumerate(values):
        height = 0.0 if maximum <= 0 else usable * min(value / maximum, 1.0)
        found.append(Bar(index * slot + GAP / 2, usable - height, slot - GAP, height, label, shown))
    return found
