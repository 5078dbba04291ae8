"""An evaluation run's report: report.json, report.md (tables) and PNG plots.

Failures come first in the per-question output, with the passages retrieved for them, so a
reader sees why. With a previous report.json, every shared metric is compared.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assistant.errors import DatasetError
from assistant.results import EvalReport

if TYPE_CHECKING:
    from assistant.results import QuestionResult

GROUPS: dict[str, tuple[str, ...]] = {
    "Retrieval": ("hit@", "mrr@", "ndcg@"),
    "Answers": ("exact_match", "token_f1", "answer_contains"),
    "Citations": ("citation_", "groundedness"),
    "Abstention": ("answerable_accuracy", "unanswerable_accuracy"),
    "LLM-judged (needs an LLM; not comparable across judges)": ("llm_",),
}
SHOWN_PASSAGES = 3
# One line per metric, for a reader who has not met it (the evaluation page shows them).
MEANINGS: dict[str, str] = {
    "hit@1": "share of answerable questions whose first passage holds a reference passage",
    "hit@k": "the same within the first {k} passages",
    "hit@c": "the same within the first {k} characters of the retrieved passages",
    "mrr@10": "1 / rank of the first reference passage in the top 10, averaged (1: always first)",
    "ndcg@10": "how high the reference passages rank in the top 10 (1: all at the top)",
    "exact_match": "share of answers equal to a reference answer (after normalising)",
    "token_f1": "word overlap between the answer and its closest reference answer (F1)",
    "answer_contains": "share of answers that contain a reference answer",
    "citation_precision": "share of citations whose passage holds a reference (quote or answer)",
    "citation_recall": "share of answerable questions with at least one such citation",
    "groundedness": "share of answer sentences whose words are in the passages they cite",
    "answerable_accuracy": "share of answerable questions answered (not abstained)",
    "unanswerable_accuracy": "share of unanswerable questions abstained on",
    "llm_faithfulness": "an LLM judge: is the answer backed by its passages (0 to 1)",
    "llm_relevance": "an LLM judge: does the answer address the question (0 to 1)",
}


def meaning(name: str) -> str:
    """What a metric measures, in one line ("" for an unknown one)."""
    found = re.fullmatch(r"hit@(\d+)(c?)", name)
    if found and (found.group(1) != "1" or found.group(2)):
        key = "hit@c" if found.group(2) else "hit@k"
        return MEANINGS[key].format(k=found.group(1))
    return MEANINGS.get(name, "")


def write_report(
    metrics: dict[str, float],
    results: Sequence[QuestionResult],
    info: dict[str, Any],
    out_dir: Path,
    compare: str | Path | None = None,
) -> EvalReport:
    """Write report.json, report.md and the plots; return the report."""
    out_dir.mkdir(parents=True, exist_ok=True)
    ordered = sorted(results, key=lambda r: not r.failed)
    comparison = _compare(metrics, load_previous(compare)) if compare else {}
    data = info | {"metrics": json_floats(metrics), "results": [result_dict(r) for r in ordered]}
    if comparison:
        data["compared_with"] = str(compare)
    (out_dir / "report.json").write_text(
        json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8"
    )
    from assistant.plots import plot_report

    plots = plot_report(metrics, ordered, comparison, out_dir)
    markdown = render_markdown(metrics, ordered, info, comparison, plots)
    (out_dir / "report.md").write_text(markdown, encoding="utf-8")
    return EvalReport(metrics, tuple(ordered), out_dir, plots, markdown, info, comparison)


def load_previous(path: str | Path) -> dict[str, float]:
    """The metrics of an earlier report.json (or of the report in a folder)."""
    p = Path(path)
    p = p / "report.json" if p.is_dir() else p
    try:
        found = json.loads(p.read_text(encoding="utf-8"))["metrics"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise DatasetError(
            f"{p}: not a report to compare with ({exc!r}); give the report.json of an "
            "earlier `assistant eval` run."
        ) from None
    return {k: math.nan if v is None else float(v) for k, v in found.items()}


def _compare(
    now: Mapping[str, float], before: Mapping[str, float]
) -> dict[str, tuple[float, float]]:
    return {k: (before[k], v) for k, v in now.items() if k in before}


def json_floats(values: Mapping[str, float]) -> dict[str, float | None]:
    """Metrics for JSON: NaN (does not apply) becomes null."""
    return {k: None if math.isnan(v) else round(v, 4) for k, v in values.items()}


def result_dict(r: QuestionResult) -> dict[str, Any]:
    """The JSON shape of one question's result."""
    return {
        "id": r.question.id,
        "question": r.question.question,
        "answerable": r.question.answerable,
        "language": r.question.language,
        "reference_answers": list(r.question.reference_answers),
        "failed": r.failed,
        "reasons": list(r.reasons),
        "answer": r.answer,
        "abstained": r.abstained,
        "scores": json_floats(r.scores),
        "citations": [vars(c) for c in r.citations],
        "retrieved": [vars(p) | {"score": round(p.score, 4)} for p in r.retrieved],
    }


def metric_groups(metrics: Mapping[str, float]) -> dict[str, list[str]]:
    """Metric names under the heading of their group, in the order they were computed."""
    out: dict[str, list[str]] = {}
    for name in metrics:
        group = next((g for g, pre in GROUPS.items() if name.startswith(pre)), "Other")
        out.setdefault(group, []).append(name)
    return out


def fmt(value: float) -> str:
    """A metric for a table: three decimals, or n/a."""
    return "n/a" if math.isnan(value) else f"{value:.3f}"


def render_markdown(
    metrics: Mapping[str, float],
    results: Sequence[QuestionResult],
    info: Mapping[str, Any],
    comparison: Mapping[str, tuple[float, float]],
    plots: Sequence[Path],
) -> str:
    """report.md: run facts, metric tables, comparison, plots, then failures and the rest."""
    failed = sum(r.failed for r in results)
    lines = [
        f"# Evaluation of `{info['dataset']}`",
        "",
        f"{info['questions']} questions ({failed} failed) · model `{info['model']}` · "
        f"answerer `{info['answerer']}` · index `{info['index_fingerprint']}` "
        f"({info['documents']} documents) · {info['duration_s']} s · {info['created_at']}",
        "",
    ]
    for group, names in metric_groups(metrics).items():
        lines += [f"## {group}", "", "| metric | value |", "|---|---|"]
        lines += [f"| {n} | {fmt(metrics[n])} |" for n in names] + [""]
    if comparison:
        lines += ["## Compared with the previous run", "", "| metric | before | now | change |"]
        lines.append("|---|---|---|---|")
        for name, (before, now) in comparison.items():
            lines.append(f"| {name} | {fmt(before)} | {fmt(now)} | {_delta(before, now)} |")
        lines.append("")
    lines += [f"![{p.stem}]({p.name})" for p in plots] + [""]
    lines += ["## Questions (failures first)", ""]
    for r in results:
        lines += _question_md(r)
    return "\n".join(lines)


def _delta(before: float, now: float) -> str:
    if math.isnan(before) or math.isnan(now):
        return "n/a"
    return f"{round(now - before, 3) or 0.0:+.3f}"  # `or 0.0`: no "-0.000"


def _question_md(r: QuestionResult) -> list[str]:
    status = "FAILED: " + "; ".join(r.reasons) if r.failed else "ok"
    kind = "answerable" if r.question.answerable else "unanswerable"
    scores = ", ".join(f"{k} {fmt(v)}" for k, v in r.scores.items())
    out = [
        f"### {r.question.id} ({kind}): {status}",
        "",
        f"- question: {r.question.question}",
        f"- reference: {' | '.join(r.question.reference_answers) or '(none)'}",
        f"- answer{' (abstained)' if r.abstained else ''}: {_one_line(r.answer, 400)}",
        f"- scores: {scores}",
    ]
    out += [
        f"- citation [{c.n}] {'supports' if c.supported else 'does not support'}: "
        f"{_one_line(c.quote, 200)}"
        for c in r.citations
    ]
    if r.failed:
        out += [
            f"- retrieved {p.rank}{' (relevant)' if p.relevant else ''}: "
            f"{Path(p.source).name} [{p.start}:{p.end}] {_one_line(p.text, 200)}"
            for p in r.retrieved[:SHOWN_PASSAGES]
        ]
    return [*out, ""]


def _one_line(text: str, limit: int) -> str:
    flat = " ".join(text.split()).replace("|", "\\|")
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def summary_table(
    metrics: Mapping[str, float], comparison: Mapping[str, tuple[float, float]]
) -> str:
    """The short table the CLI prints."""
    rows = []
    for name, value in metrics.items():
        change = f"  ({_delta(comparison[name][0], value)})" if name in comparison else ""
        rows.append(f"{name:24} {fmt(value):>6}{change}")
    return "\n".join(rows)
