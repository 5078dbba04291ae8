"""The evaluation page: run a question set against the index, see the metrics and plots.

The runner (``assistant.evaluation.run_evaluation``) is imported when the page runs, so the
app works without it; the page then says what is missing.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import streamlit as st

from assistant.errors import AssistantError
from pages.common import get_assistant, index_lock, load_settings

RUNS = "evaluations"


def earlier_runs(folder: Path) -> list[Path]:
    """Earlier runs' folders, newest first."""
    return sorted((p for p in folder.glob("*") if p.is_dir()), reverse=True)


def main() -> None:
    """The page."""
    st.title("Evaluation")
    try:
        from assistant.evaluation import run_evaluation  # type: ignore[attr-defined]
    except ImportError:
        st.warning(
            "The evaluation runner is not part of this installation yet "
            "(`assistant.evaluation.run_evaluation` is missing): update the app, then reload."
        )
        return
    settings = load_settings()
    assistant = get_assistant(settings)
    runs = assistant.store.directory / RUNS
    dataset = st.text_input("Question set (a file path)", value="")
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
                report = run_evaluation(
                    assistant, Path(dataset.strip()), out_dir, compare=compare, progress=progress
                )
        except (AssistantError, OSError) as exc:
            status.update(label="Evaluation failed", state="error")
            st.error(str(exc))
            return
        status.update(label=f"Done: {out_dir.name}", state="complete")
    st.subheader("Metrics")
    st.table([{"metric": k, "value": round(v, 4)} for k, v in report.metrics.items()])
    for plot in report.plots:
        st.image(str(plot), caption=plot.name)
    with st.expander("Report (Markdown)"):
        st.code(report.markdown, language="markdown")


if __name__ == "__main__":
    main()
