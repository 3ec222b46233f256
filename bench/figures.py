"""One measured figure next to its same-run reference."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Figure:
    name: str
    value: float
    unit: str
    reference_name: str
    reference: float

    @property
    def ratio(self) -> float:
        return self.value / self.reference if self.reference else float("inf")

    def line(self) -> str:
        return (
            f"{self.name}: {self.value:.2f} {self.unit} "
            f"(reference {self.reference_name}: {self.reference:.2f} {self.unit}; "
            f"ratio {self.ratio:.2f})"
        )

    def row(self) -> str:
        return (
            f"{self.name} | {self.value:.2f} {self.unit} | {self.reference_name} | "
            f"{self.reference:.2f} {self.unit} | {self.ratio:.2f}"
        )


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]
