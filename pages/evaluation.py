"""The evaluation page: run a question set against the index, see the metrics and plots,
compare with an earlier run. The same library code as `assistant eval`.

Behind the admin password when one is set. The question set is uploaded or picked from the
regular, size-limited JSON Lines files under the corpus and index folders: never a free
path, so the page reads no other server file, and an error quotes nothing of a server file.
"""

from __future__ import annotations

import stat
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import streamlit as st

from assistant.config import Settings
from assistant.errors import AssistantError
from assistant.evaluation import EvalReport, run_evaluation
from assistant.reports import fmt, meaning, metric_groups
from pages.common import get_assistant, index_lock, is_admin, load_settings, show_error

RUNS = "evaluations"
MAX_DATASET_BYTES = 5_000_000
_NOT_DATASETS = frozenset({"feedback.jsonl"})  # the index's own records, not question sets


def earlier_runs(folder: Path) -> list[Path]:
    """Earlier runs' folders, newest first."""
    return sorted((p for p in folder.glob("*") if p.is_dir()), reverse=True)


def question_sets(*folders: Path) -> list[Path]:
    """The JSON Lines question sets under these folders: regular files (no links, devices
    or pipes) of at most ``MAX_DATASET_BYTES``; the page offers nothing else."""
    found: list[Path] = []
    for folder in folders:
        for path in sorted(folder.rglob("*.jsonl")) if folder.is_dir() else []:
            info = path.lstat()
            regular = stat.S_ISREG(info.st_mode) and info.st_size <= MAX_DATASET_BYTES
            if regular and path.name not in _NOT_DATASETS:
                found.append(path)
    return found


def chosen_dataset(settings: Settings, index: Path) -> tuple[Path | None, bool]:
    """The question set to run: an upload (kept in a temporary file) or one of the listed
    files; and whether it came from the server (its errors then quote nothing of it)."""
    upload = st.file_uploader(
        f"Upload a question set (JSON Lines, at most {MAX_DATASET_BYTES // 1_000_000} MB; "
        "see docs/evaluation.md)",
        type=["jsonl"],
    )
    if upload is not None:
        data = upload.getvalue()
        if len(data) > MAX_DATASET_BYTES:
            st.error(f"The upload is over {MAX_DATASET_BYTES:,} bytes: split the question set.")
            return None, False
        with tempfile.NamedTemporaryFile("wb", suffix=".jsonl", delete=False) as out:
            out.write(data)
        return Path(out.name), False
    roots = (settings.corpus.resolve(), index)
    listed = question_sets(*roots)
    choice = st.selectbox(
        "…or a question set on the server (under the corpus and index folders)",
        listed,
        format_func=lambda p: str(p.relative_to(next(r for r in roots if p.is_relative_to(r)))),
    )
    return choice, True


def main() -> None:
    """The page."""
    st.title("Evaluation")
    settings = load_settings()
    if not is_admin(settings, "Running an evaluation"):
        return
    assistant = get_assistant(settings)
    runs = assistant.store.directory / RUNS
    dataset, on_server = chosen_dataset(settings, assistant.store.directory)
    previous = earlier_runs(runs)
    compare = st.selectbox(
        "Compare with an earlier run", [None, *previous], format_func=lambda p: p.name if p else "—"
    )
    if not st.button("Run the evaluation", type="primary", disabled=dataset is None):
        return
    assert dataset is not None
    out_dir = runs / datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    with st.status("Evaluating…", expanded=True) as status:
        bar = st.progress(0.0)

        def progress(done: int, total: int, *_: object) -> None:
            bar.progress(done / max(total, 1), text=f"{done} of {total} questions")

        try:
            with index_lock(assistant.store.directory):
                previous = compare / "report.json" if compare else None
                report = run_evaluation(
                    assistant, dataset, out_dir, compare=previous, progress=progress
                )
        except (AssistantError, OSError) as exc:
            status.update(label="Evaluation failed", state="error")
            if on_server:  # quote nothing of a server file: its name and the fix only
                show_error(
                    f"{dataset.name} is not a valid question set: check it with "
                    "`assistant eval` on the server (docs/evaluation.md)"
                )
            else:
                show_error(exc)
            return
        finally:
            if not on_server:
                dataset.unlink(missing_ok=True)
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
