"""The library page: add articles (files, a web address, pasted text), list, delete, re-index."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import streamlit as st

from assistant.errors import AssistantError, LoadError
from assistant.factory import Assistant
from assistant.ingestion import Failure, IngestReport
from assistant.loading import SUPPORTED_SUFFIXES, load_text
from assistant.types import content_id
from assistant.uploads import MAX_UPLOAD_BYTES, add_upload, remove_upload
from pages.common import get_assistant, index_lock, is_admin, load_settings, md, source_name

UPLOADS = "uploads"


def summary(report: IngestReport) -> str:
    """One line saying what an ingest did."""
    parts = [
        f"{len(report.added)} added",
        f"{len(report.updated)} updated",
        f"{len(report.unchanged)} unchanged",
    ]
    if report.removed:
        parts.append(f"{len(report.removed)} removed")
    if report.failed:
        parts.append(f"{len(report.failed)} failed")
    return ", ".join(parts)


def run_ingest(label: str, work: Callable[[Callable[[int, int, str], None]], IngestReport]) -> None:
    """Run an ingest with a status box and progress bar; keep its report for the next run."""
    with st.status(label, expanded=True) as status:
        bar = st.progress(0.0, text="Starting…")

        def progress(done: int, total: int, name: str) -> None:
            bar.progress(done / max(total, 1), text=f"{done} of {total}: {md(name)}")

        try:
            report = work(progress)
        except AssistantError as exc:
            report = IngestReport(failed=[Failure(label, str(exc))])
        bar.progress(1.0, text="Done")
        status.update(label=f"{label}: {summary(report)}", state="complete")
    st.session_state["library_report"] = report


def add_uploads(assistant: Assistant, files: list) -> None:
    """Read each uploaded file outside the index lock, keep it under a unique name once it
    was read, and index it."""
    folder = assistant.store.directory / UPLOADS
    lock = index_lock(assistant.store.directory)

    def work(progress: Callable[[int, int, str], None]) -> IngestReport:
        report = IngestReport()
        for done, upload in enumerate(files, 1):
            report.merge(
                add_upload(
                    folder,
                    upload.name,
                    upload.getvalue(),
                    assistant.ingestor.load,
                    lambda article: assistant.add_article(article, lock),
                )
            )
            progress(done, len(files), upload.name)
        return report

    run_ingest(f"Adding {len(files)} file{'s' * (len(files) != 1)}", work)


def add_url(assistant: Assistant, url: str) -> None:
    """Fetch a web page (in a worker, outside the index lock) and ingest its article."""

    def work(progress: Callable[[int, int, str], None]) -> IngestReport:
        progress(0, 1, "fetching")
        report = assistant.add_url(url, index_lock(assistant.store.directory))
        progress(1, 1, "done")
        return report

    run_ingest("Adding the web page", work)


def add_text(assistant: Assistant, title: str, text: str) -> None:
    """Ingest pasted text as a document."""

    def work(progress: Callable[[int, int, str], None]) -> IngestReport:
        source = f"pasted:{content_id(title, text, length=12)}"
        try:
            article = load_text(text, source=source, title=title.strip() or None)
        except LoadError as exc:
            return IngestReport(failed=[Failure("pasted text", exc.reason)])
        progress(1, 1, article.title)
        return assistant.add_article(article)

    run_ingest("Adding the pasted text", work)


def show_report() -> None:
    """The last action's outcome, with one line per file that failed."""
    report: IngestReport | None = st.session_state.get("library_report")
    if report is None:
        return
    if report.failed:
        st.error(
            "Not added:\n\n" + "\n".join(f"- {md(f.path)}: {md(f.error)}" for f in report.failed)
        )
    else:
        st.success(summary(report))


def adders(assistant: Assistant) -> None:
    """The three ways to add articles."""
    files_tab, url_tab, text_tab = st.tabs(["Upload files", "Add a web page", "Paste text"])
    with files_tab, st.form("upload", clear_on_submit=True):
        files = st.file_uploader(
            f"Articles ({', '.join(sorted(SUPPORTED_SUFFIXES))}; at most "
            f"{MAX_UPLOAD_BYTES // 1_000_000} MB each)",
            type=sorted(s.lstrip(".") for s in SUPPORTED_SUFFIXES),
            accept_multiple_files=True,
        )
        if st.form_submit_button("Add the files", type="primary") and files:
            add_uploads(assistant, list(files))
    with url_tab, st.form("url", clear_on_submit=True):
        url = st.text_input("Web address (http or https)", placeholder="https://…")
        if st.form_submit_button("Fetch and add") and url.strip():
            add_url(assistant, url)
    with text_tab, st.form("paste", clear_on_submit=True):
        title = st.text_input("Title (optional)")
        text = st.text_area("Text", height=200)
        if st.form_submit_button("Add the text") and text.strip():
            with index_lock(assistant.store.directory):
                add_text(assistant, title, text)


def document_list(assistant: Assistant, may_change: bool) -> None:
    """The indexed documents, with delete and re-index for the selected ones."""
    with index_lock(assistant.store.directory):
        docs = assistant.documents()
    st.subheader(f"{len(docs)} document{'s' * (len(docs) != 1)}")
    if not docs:
        st.info("No documents yet: add some above.")
        return
    rows = [
        {"title": d.title, "author": d.author or "", "date": d.date or "",
         "language": d.language or "", "chunks": d.chunks, "added at": d.added_at,
         "source": source_name(d.source)}
        for d in docs
    ]  # fmt: skip
    st.dataframe(
        rows,
        hide_index=True,
        width="stretch",
        column_config={
            "title": st.column_config.TextColumn("title", width="large"),
            "source": st.column_config.TextColumn(
                "source", width="large", help="The file's name, the web address, or pasted"
            ),
        },
    )
    if not may_change:
        return
    labels = {f"{d.title} · {d.source}": d for d in docs}
    chosen = [labels[c] for c in st.multiselect("Select documents", list(labels))]
    delete, reindex = st.columns(2)
    if delete.button("Delete selected", disabled=not chosen, icon=":material/delete:"):
        with index_lock(assistant.store.directory):
            for doc in chosen:
                assistant.remove(doc.doc_id)
                remove_upload(assistant.store.directory / UPLOADS, doc.source)
        st.session_state["library_report"] = None
        st.toast(f"Deleted {len(chosen)} document{'s' * (len(chosen) != 1)}")
        st.rerun()
    files = [d.source for d in chosen if Path(d.source).is_file()]
    if reindex.button("Re-index selected files", disabled=not files, icon=":material/refresh:"):
        lock = index_lock(assistant.store.directory)
        run_ingest("Re-indexing", lambda progress: assistant.ingest(files, progress, lock=lock))
        st.rerun()


def main() -> None:
    """The page."""
    st.title("Library")
    settings = load_settings()
    if not is_admin(settings, "The library"):
        return
    assistant = get_assistant(settings)
    adders(assistant)
    show_report()
    document_list(assistant, True)


if __name__ == "__main__":
    main()
