"""Article Assistant, the Streamlit app: chat, library, evaluation and settings pages.

Start it with ``streamlit run app.py`` (``make run``). A view only: the pages in ``pages/``
render what the library (``assistant/``) returns.
"""

from __future__ import annotations

import streamlit as st

PAGES = [
    st.Page("pages/chat.py", title="Chat", icon=":material/chat:", default=True),
    st.Page("pages/library.py", title="Library", icon=":material/library_books:"),
    st.Page("pages/evaluation.py", title="Evaluation", icon=":material/monitoring:"),
    st.Page("pages/settings.py", title="Settings", icon=":material/settings:"),
]

st.set_page_config(page_title="Article Assistant", page_icon=":material/article:", layout="wide")
st.navigation(PAGES).run()
