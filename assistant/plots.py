"""PNG plots of an evaluation run (matplotlib, Agg backend, imported on first use)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from assistant.results import QuestionResult

DISTRIBUTED = ("token_f1", "mrr@10", "ndcg@10", "citation_precision", "groundedness")


def plot_report(
    metrics: Mapping[str, float],
    results: Sequence[QuestionResult],
    comparison: Mapping[str, tuple[float, float]],
    out_dir: Path,
) -> list[Path]:
    """metrics.png, scores.png and, given a comparison, comparison.png; returns their paths."""
    plt = _pyplot()
    paths = [_metric_bars(plt, metrics, out_dir / "metrics.png")]
    paths.append(_distributions(plt, results, out_dir / "scores.png"))
    if comparison:
        paths.append(_comparison(plt, comparison, out_dir / "comparison.png"))
    return paths


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")  # no display; a server or CI has none
    import matplotlib.pyplot as plt

    return plt


def _shown(metrics: Mapping[str, float]) -> list[tuple[str, float]]:
    return [(k, v) for k, v in metrics.items() if not math.isnan(v)]


def _metric_bars(plt: Any, metrics: Mapping[str, float], path: Path) -> Path:
    shown = _shown(metrics)
    fig, ax = plt.subplots(figsize=(8, 0.35 * len(shown) + 1.2))
    names = [k for k, _ in shown][::-1]
    values = [v for _, v in shown][::-1]
    bars = ax.barh(names, values, color="#3a7bd5")
    ax.bar_label(bars, labels=[f"{v:.3f}" for v in values], padding=3, fontsize=8)
    ax.set_xlim(0, 1.12)
    ax.set_title("Metrics (0 to 1, higher is better)")
    return _save(plt, fig, path)


def _distributions(plt: Any, results: Sequence[QuestionResult], path: Path) -> Path:
    names = [n for n in DISTRIBUTED if any(n in r.scores for r in results)]
    columns = min(max(len(names), 1), 3)  # a grid, so each panel stays readable on a page
    rows = math.ceil(max(len(names), 1) / columns)
    fig, grid = plt.subplots(rows, columns, figsize=(4.6 * columns, 3.4 * rows), squeeze=False)
    axes = [ax for row in grid for ax in row]
    for ax, name in zip(axes, names, strict=False):
        values = [r.scores[name] for r in results if name in r.scores]
        values = [v for v in values if not math.isnan(v)]
        ax.hist(values, bins=[i / 10 for i in range(11)], color="#5fa55a", edgecolor="white")
        ax.set_title(f"{name} (n={len(values)})", fontsize=12)
        ax.set_xlim(0, 1)
        ax.set_xlabel("score", fontsize=10)
        ax.set_ylabel("questions", fontsize=10)
        ax.yaxis.get_major_locator().set_params(integer=True)
    for ax in axes[len(names) :]:
        ax.set_visible(False)
    fig.suptitle("Per-question scores (n: the questions each applies to)", fontsize=13)
    return _save(plt, fig, path)


def _comparison(plt: Any, comparison: Mapping[str, tuple[float, float]], path: Path) -> Path:
    rows = [(k, b, n) for k, (b, n) in comparison.items() if not (math.isnan(b) or math.isnan(n))]
    fig, ax = plt.subplots(figsize=(8, 0.45 * len(rows) + 1.2))
    ys = list(range(len(rows)))[::-1]
    ax.barh([y + 0.2 for y in ys], [b for _, b, _ in rows], 0.4, label="before", color="#bbb")
    ax.barh([y - 0.2 for y in ys], [n for _, _, n in rows], 0.4, label="now", color="#3a7bd5")
    ax.set_yticks(ys, [k for k, _, _ in rows])
    ax.set_xlim(0, 1.25)  # room on the right for the legend
    ax.legend(loc="lower right", fontsize=8)
    ax.set_title("This run against the previous one")
    return _save(plt, fig, path)


def _save(plt: Any, fig: Any, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
