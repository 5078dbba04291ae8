"""The evaluation page: run a question set against the index, see the metrics and plots,
compare with an earlier run. The same library code as `assistant eval`."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import streamlit as st

from assistant.errors import AssistantError
from assistant.evaluation import EvalReport, run_evaluation
from assistant.reports import fmt, meaning, metric_groups
from pages.common import get_assistant, index_lock, load_settings

RUNS = "evaluations"


def earlier_runs(folder: Path) -> list[Path]:
    """Earlier runs' folders, newest first."""
    return sorted((p for p in folder.glob("*") if p.is_dir()), reverse=True)


def main() -> None:
    """The page."""
    st.title("Evaluation")
    settings = load_settings()
    assistant = get_assistant(settings)
    runs = assistant.store.directory / RUNS
    default = settings.corpus / "questions.jsonl"
    dataset = st.text_input(
        "Question set (a JSON Lines file: see docs/evaluation.md)",
        value=str(default) if default.is_file() else "",
    )
    previous = earlier_runs(runs)
    compare = st.selectbox(
        "Compare with an earlier run", [None, *previous], format_func=lambda p: p.name if p else "—"
    )
    if not st.button("Run the evaluation", type="primary", disabled=not dataset.strip()):
        return
    out_dir = runs / datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    with st.status("Evaluating…", expanded=True) as status:
        bar = st.progress(0.0)

        def progress(done: int, total: int, *_: object) -> None:
            bar.progress(done / max(total, 1), text=f"{done} of {total} questions")

        try:
            with index_lock(assistant.store.directory):
                previous = compare / "report.json" if compare else None
                report = run_evaluation(
                    assistant, Path(dataset.strip()), out_dir, compare=previous, progress=progress
                )
        except (AssistantError, OSError) as exc:
            status.update(label="Evaluation failed", state="error")
            st.error(str(exc))
            return
        status.update(label=f"Done: {out_dir.name}", state="complete")
    show_report(report)


def show_report(report: EvalReport) -> None:
    """The metrics by group, the plots, and the full report as text."""
    for group, names in metric_groups(report.metrics).items():
        st.subheader(group)
        st.table(
            [
                {"metric": n, "value": fmt(report.metrics[n]), "what it measures": meaning(n)}
                for n in names
            ]
        )
    for plot in report.plots:
        st.image(str(plot), caption=plot.name, width="stretch")
    with st.expander("Report (Markdown, failures first)"):
        st.code(report.markdown, language="markdown")


if __name__ == "__main__":
    main()
