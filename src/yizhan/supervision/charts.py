"""Bar charts drawn as SVG on the server: no script, no CDN, readable as tables too."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Bar:
    label: str
    value: int
    x: float
    y: float
    width: float
    height: float

    @property
    def text_y(self) -> float:
        return self.y + self.height - 3

    @property
    def value_x(self) -> float:
        return round(self.x + self.width + 6, 1)


def horizontal(rows: list[tuple[str, int]], *, width: float = 400, row_height: float = 24
               ) -> tuple[list[Bar], float]:
    """Bars left to right, one row each; returns the bars and the chart's height."""
    top = max([value for _label, value in rows] + [1])
    bars = [Bar(label, value, 160, i * row_height + 4, round(width * value / top, 1),
                row_height - 8)
            for i, (label, value) in enumerate(rows)]
    return bars, len(rows) * row_height


def stacked_columns(days: list[tuple], *, height: float = 120, column: float = 18
                    ) -> list[dict]:
    """Columns per day: red at the bottom, yellow above it, notices on top."""
    peak = max([red + yellow + notice for _d, yellow, red, notice in days] + [1])
    scale = (height - 20) / peak
    columns = []
    for i, (day, yellow, red, notice) in enumerate(days):
        x = i * (column + 4) + 4
        parts, y = [], height - 16
        for level, value in (("red", red), ("yellow", yellow), ("notice", notice)):
            h = value * scale
            y -= h
            if value:
                parts.append({"level": level, "value": value, "y": round(y, 1),
                              "height": round(h, 1)})
        columns.append({"day": day, "x": x, "width": column, "parts": parts,
                        "label_y": height - 4})
    return columns
