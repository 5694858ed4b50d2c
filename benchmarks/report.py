"""Printing the benchmarks' comparison tables (shared by every bench_*.py)."""
from typing import List, Optional, Sequence


def secs(value: Optional[float]) -> str:
    return "failed" if value is None else "%.2f" % value


def table(title: str, headers: Sequence[str], rows: List[List[str]]) -> None:
    widths = [max(len(str(c)) for c in col) for col in zip(headers, *rows)]
    line = lambda cells: "| " + " | ".join(str(c).ljust(w) for c, w in zip(cells, widths)) + " |"  # noqa: E731
    print("\n" + title)
    print(line(headers))
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for row in rows:
        print(line(row))
