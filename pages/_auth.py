"""Who is using the app: the session user, the login form, logout, idle expiry, and the sidebar's
"logged in as".

The access configuration (``geo.access.roles.load_access_config``) is read once per file version; the
user lives in ``st.session_state["auth_user"]``, carrying the browser session's anonymous id
(``User.session_id``, for the audit log). Without a configuration everyone is the public viewer
(``geo.access.roles.public_viewer``) and pages show ``PUBLIC_NOTICE``. The rules themselves are enforced
in ``geo.access.roles`` and in ``pages._shared``'s loaders (their cache keys carry ``scope_key(user)``);
this module only decides who the user is.

Local logins survive a page reload through the signed, HTTP-only session cookie that the server
of ``serve.py`` sets (``geo.access.roles.LoginSessions``): after a good password the browser is sent to
``/ppap/session`` with a one-time ticket and back. A session unused for
``idle_timeout_minutes`` is logged out (audit event ``expired``).
"""

from __future__ import annotations

import time
from dataclasses import replace
from urllib.parse import quote, urlencode, urlsplit

import streamlit as st

from geo.access.roles import (
    new_session_id,
    LOGOUT_ROUTE,
    PUBLIC_NOTICE,
    ROLE_LABELS,
    SESSION_COOKIE,
    SESSION_ROUTE,
    AccessConfig,
    User,
    authenticate_local,
    client_address,
    idle_expired,
    login_sessions,
    oidc_problem,
    public_viewer,
    resolve_oidc_user,
    with_session,
)
from geo.errors import AccessDenied
from geo.access.audit import log_event
from geo.engine.protect import DEFAULT_MIN_COUNT
from geo.text import label, th_en
from pages._shared import access_config, apply_audit_secrets, login_limiter, oidc_secrets

USER_KEY = "auth_user"
ERROR_KEY = "auth_error"
SESSION_ID_KEY = "auth_session_id"  # the browser session's anonymous id (audit log "session")
LAST_SEEN_KEY = "auth_last_seen"  # time of the logged-in user's last page run (idle timeout)
LOGIN_SID_KEY = "auth_login_sid"  # the server-side login session behind the cookie
COOKIE_CHECKED_KEY = "auth_cookie_checked"
EXPIRED_KEY = "auth_expired"


def session_id() -> str:
    """This browser session's anonymous id (:func:`geo.access.roles.new_session_id`), made once per session."""
    sid = st.session_state.get(SESSION_ID_KEY)
    if not isinstance(sid, str) or not sid:
        sid = st.session_state[SESSION_ID_KEY] = new_session_id()
    return sid


def client_key(config: AccessConfig) -> str:
    """Who is trying to log in, for the per-client login limit: the client's address (behind a
    trusted proxy, from ``X-Forwarded-For``), else this browser session."""
    try:
        remote = st.context.ip_address
        forwarded = st.context.headers.get("X-Forwarded-For")
    except Exception:  # no browser context (a bare or test run): fall back to the session
        remote, forwarded = None, None
    address = client_address(remote, forwarded, trusted_proxies=config.trusted_proxies)
    return address or f"session:{session_id()}"


def _base_path() -> str:
    base = str(st.get_option("server.baseUrlPath") or "").strip("/")
    return f"/{base}" if base else ""


def _send_browser_to(url: str) -> None:
    """Navigate the browser (the same message ``st.login`` uses to reach its own routes)."""
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    if ctx is not None:
        message = ForwardMsg()
        message.auth_redirect.url = url
        ctx.enqueue(message)


def _here() -> str:
    """The page's path and query, to come back to after the cookie routes."""
    try:
        path = urlsplit(st.context.url or "").path or "/"
    except Exception:
        path = "/"
    query = urlencode(st.query_params.to_dict())
    return path + (f"?{query}" if query else "")


def _forget_session_data() -> None:
    """Nothing of the last user's for the next one: import report, errors, k, login session."""
    for key in ("data_last_import", "data_import_error", ERROR_KEY, LAST_SEEN_KEY, LOGIN_SID_KEY):
        st.session_state.pop(key, None)
    # Their minimum count (k) goes too: the next user starts at the default, not at an
    # administrator's k=1 (pages/_sidebar.py keeps the view and the control under these keys).
    st.session_state.pop("sidebar_min_count", None)
    view = st.session_state.get("ppap_view")
    if view is not None:
        st.session_state["ppap_view"] = replace(view, min_count=DEFAULT_MIN_COUNT)


def _end_login(user: User, config: AccessConfig, *, event: str, detail: str = "") -> None:
    """Log ``user`` out of this session (``logout`` or ``expired``): logged, server session ended."""
    login_sid = st.session_state.get(LOGIN_SID_KEY)
    if login_sid:
        login_sessions().end(login_sid)  # the cookie is worthless from now on
    st.session_state.pop(USER_KEY, None)
    _forget_session_data()
    if not user.is_public:
        log_event(event, with_session(user, session_id()), detail=detail)


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
            log_event("login_failed", None, session=session_id(), detail=exc.reason)
            st.session_state[ERROR_KEY + "_oidc_logged"] = True
        raise
    user = with_session(user, session_id())
    if not user.is_public:
        log_event("login", user, detail="oidc")
    return user


def _cookie_user(config: AccessConfig) -> User | None:
    """Local mode: the user of a valid login cookie (a page reload), once per browser session."""
    if config.mode != "local" or not config.remember_login or st.session_state.get(COOKIE_CHECKED_KEY):
        return None
    st.session_state[COOKIE_CHECKED_KEY] = True
    try:
        cookie = st.context.cookies.get(SESSION_COOKIE)
    except Exception:  # no browser context
        cookie = None
    name, status, login_sid = login_sessions().resume(cookie, idle_seconds=config.idle_timeout_seconds)
    known = config.user(name) if name else None
    if status == "idle":
        st.session_state[EXPIRED_KEY] = True
        if known is not None:
            log_event("expired", with_session(known, session_id()),
                      detail=f"idle for more than {config.idle_timeout_minutes:g} min (found at a page load)")
        return None
    if status != "ok" or known is None:
        return None
    user = with_session(known, session_id())
    st.session_state[LOGIN_SID_KEY] = login_sid
    log_event("login", user, detail="session cookie (page reload)")
    return user


def current_user() -> User | None:
    """The session's user: logged in, else the anonymous user (public viewer), else None (must log in).

    A logged-in user idle for longer than ``idle_timeout_minutes`` is logged out here (``expired``).

    Raises
    ------
    AccessDenied
        OIDC mode: the provider's identity is not a configured user and public access is off.
    """
    apply_audit_secrets()
    config = access_config()
    sid = session_id()
    now = time.time()
    user = st.session_state.get(USER_KEY)
    if isinstance(user, User):
        # A user removed or changed in the configuration loses the session on the next run.
        if not user.is_public and config.user(user.username) != user:
            st.session_state.pop(USER_KEY, None)
        elif not user.is_public and idle_expired(st.session_state.get(LAST_SEEN_KEY), now,
                                                 config.idle_timeout_seconds):
            _end_login(user, config, event="expired",
                       detail=f"idle for more than {config.idle_timeout_minutes:g} min")
            st.session_state[EXPIRED_KEY] = True
            if config.mode == "oidc":
                st.logout()
        else:
            st.session_state[LAST_SEEN_KEY] = now
            if st.session_state.get(LOGIN_SID_KEY):
                login_sessions().touch(st.session_state[LOGIN_SID_KEY])
            return user if user.session_id == sid else with_session(user, sid)
    found = _cookie_user(config)  # local mode: a page reload with a valid login cookie
    if found is None and config.mode == "oidc":
        found = _oidc_user(config)
    if found is not None:
        st.session_state[USER_KEY] = found
        st.session_state[LAST_SEEN_KEY] = now
        return found
    anonymous = config.anonymous_user()
    return with_session(anonymous, sid) if anonymous is not None else None


def _login() -> None:
    """The login form's callback: check the password (limited per username and per client), log
    the attempt, keep the user, and have the server set the login cookie."""
    config = access_config()
    name = str(st.session_state.get("auth_username", ""))
    password = str(st.session_state.get("auth_password", ""))
    st.session_state["auth_password"] = ""
    st.session_state.pop(ERROR_KEY, None)
    st.session_state.pop(EXPIRED_KEY, None)
    sid = session_id()
    try:
        user = authenticate_local(config, name, password, limiter=login_limiter(), client=client_key(config))
    except AccessDenied as exc:
        known = config.user(name)
        log_event("login_failed", with_session(known, sid) if known else None, session=sid, detail=exc.reason)
        st.session_state[ERROR_KEY] = exc
        return
    user = with_session(user, sid)
    log_event("login", user)
    st.session_state[USER_KEY] = user
    st.session_state[LAST_SEEN_KEY] = time.time()
    sessions = login_sessions()
    if config.remember_login and sessions.routes_installed:
        login_sid, ticket = sessions.start(user, hours=config.session_hours)
        st.session_state[LOGIN_SID_KEY] = login_sid
        _send_browser_to(f"{_base_path()}{SESSION_ROUTE}?ticket={quote(ticket)}&next={quote(_here(), safe='')}")


def _logout() -> None:
    config = access_config()
    user = st.session_state.get(USER_KEY)
    had_cookie = bool(st.session_state.get(LOGIN_SID_KEY))
    if isinstance(user, User):
        _end_login(user, config, event="logout")
    else:
        _forget_session_data()
    if config.mode == "oidc":
        st.logout()
    elif had_cookie and login_sessions().routes_installed:
        _send_browser_to(f"{_base_path()}{LOGOUT_ROUTE}?next={quote(_base_path() or '/', safe='')}")


def oidc_ready(config: AccessConfig) -> str:
    """Why the OIDC login cannot be offered ("" when it can): ``mode = "oidc"`` and a complete
    ``[auth]`` section in ``.streamlit/secrets.toml`` (``geo.access.roles.oidc_problem``)."""
    if config.mode != "oidc":
        return "mode is not oidc"
    return oidc_problem(oidc_secrets(), config.oidc_provider)


def login_form(lang: str, *, where=None) -> None:
    """The login form (local mode) or the provider's login button (OIDC mode, when configured)."""
    config = access_config()
    box = where if where is not None else st
    if config.mode == "oidc":
        problem = oidc_ready(config)
        if problem:
            box.error(label("access.oidc_not_set_up", lang, problem=problem), icon=":material/error:")
            return
        if box.button(" · ".join(th_en("access.log_in")), key="auth_oidc_login", icon=":material/login:"):
            st.login(config.oidc_provider) if config.oidc_provider else st.login()
        return
    if config.mode != "local":
        return
    with box.form("auth_login_form"):
        st.text_input(label("access.username", lang), key="auth_username")
        st.text_input(label("access.password", lang), type="password", key="auth_password")
        st.form_submit_button(label("access.log_in", lang), on_click=_login, key="auth_submit")
    error = st.session_state.get(ERROR_KEY)
    if isinstance(error, AccessDenied):
        box.error(error.message(lang), icon=":material/lock:")


def _expired_notice(lang: str, where=None) -> None:
    if st.session_state.pop(EXPIRED_KEY, None):
        minutes = f"{access_config().idle_timeout_minutes:g}"
        (where or st).info(label("access.session_expired", lang, minutes=minutes), icon=":material/timer_off:")


def require_user(lang: str) -> User:
    """The session's user; when a login is required, draw the login form and stop the page."""
    try:
        user = current_user()
    except AccessDenied as exc:
        st.error(exc.message(lang), icon=":material/lock:")
        if access_config().mode == "oidc":
            st.button(" · ".join(th_en("access.log_out")), key="auth_oidc_logout", on_click=st.logout)
        st.stop()
    if user is None:
        st.title("PPAP Atlas")
        _expired_notice(lang)
        st.info(label("access.please_log_in", lang), icon=":material/lock:")
        login_form(lang)
        st.stop()
    return user


def sidebar_user(user: User, lang: str) -> None:
    """Who is logged in and their role (and scope), with log out / log in, at the top of the sidebar."""
    bar = st.sidebar
    role = ROLE_LABELS[user.role][lang] if user.role in ROLE_LABELS else user.role
    if user.is_public:
        _expired_notice(lang, bar)
        bar.caption(PUBLIC_NOTICE[lang])
        if access_config().mode in ("local", "oidc"):
            with bar.expander(label("access.log_in", lang)):
                login_form(lang)
        return
    who = user.display_name or user.username
    bar.markdown(f"**{_md(who)}** · {_md(role)}  \n{_md(user.scope.describe(lang))}")
    bar.button(label("access.log_out", lang), key="auth_logout", on_click=_logout,
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


__all__ = ["access_config", "client_key", "current_user", "login_form", "login_limiter", "oidc_ready",
           "public_notice", "public_viewer", "require_user", "session_id", "sidebar_user"]
