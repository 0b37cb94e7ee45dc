"""Who is using the app: the session user, the login form, logout, and the sidebar's "logged in as".

The access configuration (``geo.access.load_access_config``) is read once per server process; the
user lives in ``st.session_state["auth_user"]``. Without a configuration everyone is the public
viewer (``geo.access.public_viewer``) and pages show ``PUBLIC_NOTICE``. The rules themselves are
enforced in ``geo.access`` and in ``pages._shared``'s loaders (their cache keys carry
``scope_key(user)``); this module only decides who the user is.
"""

from __future__ import annotations

from dataclasses import replace

import streamlit as st

from geo.access import (
    PUBLIC_NOTICE,
    ROLE_LABELS,
    AccessConfig,
    AccessDenied,
    User,
    authenticate_local,
    public_viewer,
    resolve_oidc_user,
)
from geo.audit import log_event
from geo.protect import DEFAULT_MIN_COUNT
from pages._shared import access_config, login_limiter

USER_KEY = "auth_user"
ERROR_KEY = "auth_error"


def _oidc_user(config: AccessConfig) -> User | None:
    """The OIDC identity mapped to a configured user (None when nobody is logged in)."""
    try:
        logged_in = bool(st.user.get("is_logged_in"))
    except (AttributeError, KeyError):
        return None
    if not logged_in:
        return None
    try:
        user = resolve_oidc_user(config, st.user.get("email"), email_verified=st.user.get("email_verified"))
    except AccessDenied as exc:
        if not st.session_state.get(ERROR_KEY + "_oidc_logged"):  # once per session, not every rerun
            log_event("login_failed", None, detail=exc.reason)
            st.session_state[ERROR_KEY + "_oidc_logged"] = True
        raise
    if not user.is_public:
        log_event("login", user, detail="oidc")
    return user


def current_user() -> User | None:
    """The session's user: logged in, else the anonymous user (public viewer), else None (must log in).

    Raises
    ------
    AccessDenied
        OIDC mode: the provider's identity is not a configured user and public access is off.
    """
    user = st.session_state.get(USER_KEY)
    config = access_config()
    if isinstance(user, User):
        # A user removed or changed in the configuration loses the session on the next run.
        if user.is_public or config.user(user.username) == user:
            return user
        st.session_state.pop(USER_KEY, None)
    if config.mode == "oidc":
        user = _oidc_user(config)
        if user is not None:
            st.session_state[USER_KEY] = user
            return user
    return config.anonymous_user()


def _login() -> None:
    """The login form's callback: check the password, log the attempt, keep the user."""
    config = access_config()
    name = str(st.session_state.get("auth_username", ""))
    password = str(st.session_state.get("auth_password", ""))
    st.session_state["auth_password"] = ""
    st.session_state.pop(ERROR_KEY, None)
    try:
        user = authenticate_local(config, name, password, limiter=login_limiter())
    except AccessDenied as exc:
        log_event("login_failed", config.user(name), detail=exc.reason)
        st.session_state[ERROR_KEY] = exc
        return
    log_event("login", user)
    st.session_state[USER_KEY] = user


def _logout() -> None:
    user = st.session_state.pop(USER_KEY, None)
    for key in ("data_last_import", "data_import_error", ERROR_KEY):  # nothing of theirs for the next user
        st.session_state.pop(key, None)
    # Their minimum count (k) goes too: the next user starts at the default, not at an
    # administrator's k=1 (pages/_sidebar.py keeps the view and the control under these keys).
    st.session_state.pop("sidebar_min_count", None)
    view = st.session_state.get("ppap_view")
    if view is not None:
        st.session_state["ppap_view"] = replace(view, min_count=DEFAULT_MIN_COUNT)
    if isinstance(user, User) and not user.is_public:
        log_event("logout", user)
    if access_config().mode == "oidc":
        st.logout()


def login_form(lang: str, *, where=None) -> None:
    """The login form (local mode) or the provider's login button (OIDC mode)."""
    config = access_config()
    box = where if where is not None else st
    if config.mode == "oidc":
        if box.button("เข้าสู่ระบบ · Log in", key="auth_oidc_login", icon=":material/login:"):
            st.login(config.oidc_provider) if config.oidc_provider else st.login()
        return
    if config.mode != "local":
        return
    with box.form("auth_login_form"):
        st.text_input("ชื่อผู้ใช้" if lang == "th" else "Username", key="auth_username")
        st.text_input("รหัสผ่าน" if lang == "th" else "Password", type="password", key="auth_password")
        st.form_submit_button("เข้าสู่ระบบ" if lang == "th" else "Log in", on_click=_login, key="auth_submit")
    error = st.session_state.get(ERROR_KEY)
    if isinstance(error, AccessDenied):
        box.error(error.message(lang), icon=":material/lock:")


def require_user(lang: str) -> User:
    """The session's user; when a login is required, draw the login form and stop the page."""
    try:
        user = current_user()
    except AccessDenied as exc:
        st.error(exc.message(lang), icon=":material/lock:")
        if access_config().mode == "oidc":
            st.button("ออกจากระบบ · Log out", key="auth_oidc_logout", on_click=st.logout)
        st.stop()
    if user is None:
        st.title("PPAP Atlas")
        st.info("กรุณาเข้าสู่ระบบ" if lang == "th" else "Please log in.", icon=":material/lock:")
        login_form(lang)
        st.stop()
    return user


def sidebar_user(user: User, lang: str) -> None:
    """Who is logged in and their role (and scope), with log out / log in, at the top of the sidebar."""
    bar = st.sidebar
    role = ROLE_LABELS[user.role][lang] if user.role in ROLE_LABELS else user.role
    if user.is_public:
        bar.caption(PUBLIC_NOTICE[lang])
        if access_config().mode in ("local", "oidc"):
            with bar.expander("เข้าสู่ระบบ" if lang == "th" else "Log in"):
                login_form(lang)
        return
    who = user.display_name or user.username
    bar.markdown(f"**{_md(who)}** · {_md(role)}  \n{_md(user.scope.describe(lang))}")
    bar.button("ออกจากระบบ" if lang == "th" else "Log out", key="auth_logout", on_click=_logout,
               icon=":material/logout:")


def public_notice(user: User, lang: str) -> None:
    """The visible notice every page shows to the public viewer."""
    if user.is_public:
        st.info(PUBLIC_NOTICE[lang], icon=":material/public:")


def _md(value: str) -> str:
    """Plain text for st.markdown: Markdown and HTML characters escaped."""
    out = []
    for ch in str(value):
        out.append("\\" + ch if ch in "\\`*_{}[]()#+-.!|<>~$" else ch)
    return "".join(out)


__all__ = ["access_config", "current_user", "login_form", "login_limiter", "public_notice", "public_viewer",
           "require_user", "sidebar_user"]
