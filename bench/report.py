"""Result rows and their rendering: a text table for the terminal, Markdown for BENCHMARKS.md.

Every row is one figure measured for the floor (bare ``requests`` + ``json``), dynakube and
each other client present. The ratio beside a figure is always its *cost* relative to the
floor (time, memory or requests divided by the floor's; for a rate, the floor's rate divided
by it), so 1.00 means as cheap as bare requests and 1.15 is issue 8's target.

With ``--rounds N`` each figure is the median of N interleaved rounds (:func:`merge_rounds`),
printed with its spread, and a target counts as met only when it is met at the median and in
at least four rounds out of five (:data:`MET_SHARE`): one lucky round on a noisy machine is
no result.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["FLOOR", "DYNAKUBE", "MET_SHARE", "Row", "fmt_value", "merge_rounds", "text_table",
           "markdown_table"]

FLOOR = "floor"
DYNAKUBE = "dynakube"
MET_SHARE = 0.8  # the share of rounds in which a target must be met, besides the median


@dataclass
class Row:
    """One measured figure, by client."""

    task: str
    case: str
    unit: str  # "s", "ms", "MB", "B/obj", "req", "/s", "µs"
    values: dict[str, float | None] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    higher_better: bool = False
    target_ratio: float | None = None  # dynakube's ratio to the floor must not exceed it
    target_max: float | None = None  # dynakube's value must not exceed it (request counts)
    note: str = ""
    # filled by merge_rounds: each client's (min, max) over the rounds, and whether the target
    # was met in each round (the dynakube/floor ratio taken within that round)
    spread: dict[str, tuple[float, float]] = field(default_factory=dict)
    round_met: list[bool] = field(default_factory=list)

    def ratio(self, client: str) -> float | None:
        value, floor = self.values.get(client), self.values.get(FLOOR)
        if value is None or floor is None:
            return None
        if self.higher_better:
            return floor / value if value else None
        if floor == 0:
            return None if value else 1.0
        return value / floor

    def met(self) -> bool | None:
        """Whether dynakube meets this row's target (None: no target or no figure); over
        several rounds, at the median and in at least ``MET_SHARE`` of the rounds."""
        at_median = self._met_once()
        if at_median is None or not self.round_met:
            return at_median
        return at_median and sum(self.round_met) >= MET_SHARE * len(self.round_met)

    def _met_once(self) -> bool | None:
        value = self.values.get(DYNAKUBE)
        if value is None:
            return None
        if self.target_max is not None:
            return value <= self.target_max
        if self.target_ratio is not None:
            ratio = self.ratio(DYNAKUBE)
            return None if ratio is None else ratio <= self.target_ratio
        return None

    def target_text(self) -> str:
        met = self.met()
        if self.target_max is not None:
            goal = f"≤ {self.target_max:g}"
        elif self.target_ratio is not None:
            goal = f"≤ {self.target_ratio:g}×"
        else:
            return ""
        verdict = "met" if met else "MISSED" if met is False else "?"
        if self.round_met:
            verdict += f" ({sum(self.round_met)} of {len(self.round_met)} rounds)"
        return f"{goal} {verdict}"

    def to_json(self) -> dict[str, Any]:
        return {"task": self.task, "case": self.case, "unit": self.unit,
                "values": self.values, "errors": self.errors,
                "ratios": {c: self.ratio(c) for c in self.values},
                "target": self.target_text(), "note": self.note,
                "spread": self.spread, "round_met": self.round_met}


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def merge_rounds(rounds: list[list[Row]]) -> list[Row]:
    """One row per (task, case) over several rounds: each client's median and spread, and
    the target checked within every round (a figure missing from a round is left out)."""
    merged: dict[tuple[str, str], list[Row]] = {}
    for rows in rounds:
        for row in rows:
            merged.setdefault((row.task, row.case), []).append(row)
    out = []
    for same in merged.values():
        first = same[0]
        row = Row(first.task, first.case, first.unit, higher_better=first.higher_better,
                  target_ratio=first.target_ratio, target_max=first.target_max,
                  note=first.note)
        for client in dict.fromkeys(c for r in same for c in r.values):
            figures = [v for r in same if (v := r.values.get(client)) is not None]
            row.values[client] = _median(figures) if figures else None
            if figures:
                row.spread[client] = (min(figures), max(figures))
        for r in same:
            row.errors.update(r.errors)
        if len(same) > 1:
            row.round_met = [m for r in same if (m := r.met()) is not None]
        out.append(row)
    return out


def fmt_value(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    if unit == "req":
        return f"{value:.0f}"
    if unit in ("MB", "s", "ms", "µs"):
        if value >= 100:
            return f"{value:.0f} {unit}"
        if value >= 10:
            return f"{value:.1f} {unit}"
        return f"{value:.2f} {unit}" if value >= 0.1 or value == 0 else f"{value:.3f} {unit}"
    if unit == "/s":
        return f"{value:,.0f}/s"
    if unit == "B/obj":
        return f"{value:,.0f} B/obj"
    return f"{value:g} {unit}"


def _cell(row: Row, client: str) -> str:
    if client in row.errors:
        error = row.errors[client]
        return error if len(error) <= 40 else "error"
    value = row.values.get(client, None)
    if value is None:
        return "n/a" if client not in row.values else "-"
    text = fmt_value(value, row.unit)
    low_high = row.spread.get(client)
    if low_high and low_high[0] != low_high[1]:
        low, high = (fmt_value(v, row.unit).removesuffix(row.unit).strip() for v in low_high)
        text += f" [{low}–{high}]"
    if client == FLOOR:
        return text
    ratio = row.ratio(client)
    return f"{text} ({ratio:.2f}×)" if ratio is not None else text


def _columns(rows: list[Row], clients: list[str]) -> list[list[str]]:
    header = ["task", "case", *clients, "target"]
    body = [[r.task, r.case, *(_cell(r, c) for c in clients), r.target_text()] for r in rows]
    return [header, *body]


def text_table(rows: list[Row], clients: list[str]) -> str:
    table = _columns(rows, clients)
    widths = [max(len(line[i]) for line in table) for i in range(len(table[0]))]
    out = []
    for n, line in enumerate(table):
        out.append("  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)))
        if n == 0:
            out.append("  ".join("-" * w for w in widths))
    return "\n".join(out)


def markdown_table(rows: list[Row], clients: list[str]) -> str:
    table = _columns(rows, clients)
    out = ["| " + " | ".join(table[0]) + " |",
           "|" + "|".join("---" for _ in table[0]) + "|"]
    out += ["| " + " | ".join(cell.replace("|", "\\|") for cell in line) + " |"
            for line in table[1:]]
    return "\n".join(out)
