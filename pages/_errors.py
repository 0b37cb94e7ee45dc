"""A ``geo`` error on a page: one line of ``st.error``, never a traceback.

Every error ``geo`` raises on purpose is a :class:`geo.errors.PPAPError` whose message a user can
read (``exc.message(lang)``: Thai or English). Pages catch it where they call ``geo``
(:func:`errors_explained`, :func:`pages._shared.shared_result`, :func:`pages._render.load_or_explain`)
and draw it with :func:`show_error`; the message reaches Markdown only through
:func:`geo.views.viewstate.markdown_literal` (it may quote a file's name), on one line.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import streamlit as st

from geo.errors import PPAPError
from geo.views.viewstate import markdown_literal

#: Longest error message repeated on a page (it may quote a file's name or its first row).
ERROR_LIMIT = 500


def error_text(exc: BaseException, lang: str | None = None) -> str:
    """The message of ``exc`` in ``lang`` (``"th"`` or ``"en"``); both, Thai first, when ``lang`` is None."""
    if not isinstance(exc, PPAPError):
        return str(exc)
    if lang in ("th", "en"):
        return exc.message(lang)
    th, en = exc.message("th"), exc.message("en")
    return en if th == en else f"{th} · {en}"


def error_line(exc: BaseException, lang: str | None = None) -> str:
    """:func:`error_text` as one line of Markdown that shows exactly its text."""
    return markdown_literal(error_text(exc, lang), limit=ERROR_LIMIT)


def show_error(exc: BaseException, lang: str | None = None) -> None:
    """Draw ``exc`` as one ``st.error`` line."""
    st.error(error_line(exc, lang), icon=":material/error:")


@contextmanager
def errors_explained(lang: str | None = None) -> Iterator[None]:
    """Run the block; a :class:`~geo.errors.PPAPError` becomes one error line and stops the page (or fragment)."""
    try:
        yield
    except PPAPError as exc:
        show_error(exc, lang)
        st.stop()
