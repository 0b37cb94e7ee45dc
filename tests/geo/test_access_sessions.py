"""Tests for the login defences added after the security review: login limits per client as well
as per username, the client address behind a trusted proxy, the idle timeout and session settings
of access.toml, the signed login-session cookie (tickets, signature, expiry, idle, logout) and the
app server's routes and middleware (HTTP-only cookie, no open redirect, metrics not public)."""

from __future__ import annotations

import asyncio
import threading
import re

import pytest

from geo.access.roles import (
    BLOCKED_PATHS,
    EXPOSE_METRICS_ENV,
    SESSION_COOKIE,
    BlockPaths,
    LoginLimiter,
    LoginSessions,
    LogoutCookieRoute,
    SessionCookieRoute,
    User,
    authenticate_local,
    client_address,
    hash_password,
    idle_expired,
    parse_access_config,
    safe_next_path,
    session_routes,
)
from geo.errors import AccessConfigError, AccessDenied

ADMIN = User("admin", "administrator")
PASSWORD = "correct horse battery"


class Clock:
    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


# ---------------------------------------------------------------------------------------------
# Per-client login limits
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def local_config():
    return parse_access_config({
        "auth": {"mode": "local", "max_failed_logins": 5, "max_failed_logins_per_client": 4, "lockout_seconds": 60},
        "users": [{"username": "admin", "role": "administrator", "password_hash": hash_password(PASSWORD)}],
    })


def test_one_client_guessing_many_usernames_is_locked_out(local_config):
    clock = Clock()
    limiter = local_config.new_limiter(clock=clock)
    for name in ("alice", "bob", "carol", "dave"):  # one failure each: no username reaches 5
        with pytest.raises(AccessDenied) as exc:
            authenticate_local(local_config, name, "guess-guess-guess", limiter=limiter, client="203.0.113.9")
        assert exc.value.reason == "login"
    # The fifth name, even the right password for a real user, is refused from that client ...
    with pytest.raises(AccessDenied) as exc:
        authenticate_local(local_config, "admin", PASSWORD, limiter=limiter, client="203.0.113.9")
    assert exc.value.reason == "locked"
    # ... but not from another client, and not after the lockout.
    assert authenticate_local(local_config, "admin", PASSWORD, limiter=limiter, client="198.51.100.1") == ADMIN
    clock.now += 61
    assert authenticate_local(local_config, "admin", PASSWORD, limiter=limiter, client="203.0.113.9") == ADMIN


def test_a_success_does_not_clear_the_clients_count():
    clock = Clock()
    limiter = LoginLimiter(max_failures=5, max_client_failures=3, clock=clock)
    limiter.failure("x", client="c")
    limiter.failure("y", client="c")
    limiter.success("mine", client="c")
    limiter.failure("z", client="c")
    assert limiter.seconds_locked("anyone", client="c") == 60.0
    assert limiter.seconds_locked("anyone") == 0.0


def test_username_limit_still_holds_without_a_client():
    limiter = LoginLimiter(max_failures=2, clock=Clock())
    limiter.failure("Admin")
    limiter.failure("admin ")
    with pytest.raises(AccessDenied, match="Too many"):
        limiter.check("ADMIN")


@pytest.mark.parametrize(("remote", "forwarded", "trusted", "expected"), [
    ("198.51.100.4", None, (), "198.51.100.4"),
    ("198.51.100.4", "203.0.113.9", (), "198.51.100.4"),  # an untrusted sender's header is ignored
    (None, "203.0.113.9", (), None),  # loopback, no trusted proxy: unknown
    (None, "203.0.113.9", ("127.0.0.1",), "203.0.113.9"),  # behind a local reverse proxy
    (None, "1.2.3.4, 203.0.113.9", ("127.0.0.1",), "203.0.113.9"),  # a forged left part is not believed
    ("10.0.0.2", "203.0.113.9, 10.0.0.3", ("10.0.0.2", "10.0.0.3"), "203.0.113.9"),
    (None, None, ("127.0.0.1",), None),
])
def test_client_address(remote, forwarded, trusted, expected):
    assert client_address(remote, forwarded, trusted_proxies=trusted) == expected


# ---------------------------------------------------------------------------------------------
# Configuration
# ---------------------------------------------------------------------------------------------


def test_session_settings_defaults_and_values():
    base = {"mode": "local"}
    users = [{"username": "admin", "role": "administrator", "password_hash": hash_password(PASSWORD)}]
    config = parse_access_config({"auth": base, "users": users})
    assert (config.idle_timeout_minutes, config.session_hours, config.remember_login) == (30.0, 8.0, True)
    assert config.max_failed_logins_per_client == 20 and config.trusted_proxies == ()
    assert config.idle_timeout_seconds == 1800.0
    config = parse_access_config({"auth": {**base, "idle_timeout_minutes": 0, "session_hours": 2,
                                           "remember_login": False, "trusted_proxies": ["127.0.0.1", "::1"]},
                                  "users": users})
    assert (config.idle_timeout_seconds, config.session_hours, config.remember_login) == (0.0, 2.0, False)
    assert config.trusted_proxies == ("127.0.0.1", "::1")


@pytest.mark.parametrize(("key", "value", "message"), [
    ("idle_timeout_minutes", -1, "idle_timeout_minutes"),
    ("idle_timeout_minutes", "30", "idle_timeout_minutes"),
    ("session_hours", 0, "session_hours"),
    ("remember_login", "yes", "remember_login"),
    ("trusted_proxies", ["proxy.local"], "trusted_proxies"),
    ("trusted_proxies", "127.0.0.1", "trusted_proxies"),
    ("max_failed_logins_per_client", 0, "max_failed_logins_per_client"),
])
def test_bad_session_settings_name_the_key(key, value, message):
    users = [{"username": "admin", "role": "administrator", "password_hash": hash_password(PASSWORD)}]
    with pytest.raises(AccessConfigError, match=message):
        parse_access_config({"auth": {"mode": "local", key: value}, "users": users})


def test_example_config_parses():
    from geo.access.roles import load_access_config
    from geo.data.paths import PROJECT_ROOT

    config = load_access_config(PROJECT_ROOT / "config" / "access.example.toml")
    assert config.idle_timeout_minutes == 30 and config.remember_login


def test_idle_expired():
    assert idle_expired(0.0, 1801.0, 1800) and not idle_expired(0.0, 1800.0, 1800)
    assert not idle_expired(None, 1e9, 1800) and not idle_expired(0.0, 1e9, 0)


# ---------------------------------------------------------------------------------------------
# The signed session cookie
# ---------------------------------------------------------------------------------------------


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def sessions(clock) -> LoginSessions:
    return LoginSessions(b"s" * 32, clock=clock)


def test_ticket_gives_the_cookie_once(sessions):
    sid, ticket = sessions.start(ADMIN, hours=8)
    cookie, max_age = sessions.redeem(ticket)
    assert max_age == 8 * 3600
    assert re.fullmatch(r"v1\.[A-Za-z0-9_\-]+\.\d+\.[0-9a-f]{64}", cookie)
    assert "admin" not in cookie  # nothing personal in the cookie
    assert sessions.redeem(ticket) is None  # single use
    assert sessions.redeem("made-up") is None
    assert sessions.resume(cookie, idle_seconds=1800) == ("admin", "ok", sid)


def test_old_ticket_is_refused(sessions, clock):
    _, ticket = sessions.start(ADMIN, hours=8)
    clock.now += 61
    assert sessions.redeem(ticket) is None


def test_forged_or_expired_cookie_is_refused(sessions, clock):
    sid, ticket = sessions.start(ADMIN, hours=1)
    cookie, _ = sessions.redeem(ticket)
    version, sid_part, expires, mac = cookie.split(".")
    later = f"{version}.{sid_part}.{int(expires) + 86400}.{mac}"  # stretch the expiry
    assert sessions.resume(later, idle_seconds=0)[1] == "invalid"
    other = LoginSessions(b"o" * 32, clock=clock)  # another key
    assert other.resume(cookie, idle_seconds=0)[1] == "invalid"
    assert sessions.resume("garbage", idle_seconds=0)[1] == "invalid"
    assert sessions.resume(None, idle_seconds=0)[1] == "none"
    clock.now += 3601
    assert sessions.resume(cookie, idle_seconds=0)[1] == "invalid"


def test_idle_session_expires_and_stays_ended(sessions, clock):
    sid, ticket = sessions.start(ADMIN, hours=8)
    cookie, _ = sessions.redeem(ticket)
    clock.now += 1000
    assert sessions.resume(cookie, idle_seconds=1800)[1] == "ok"  # touched
    clock.now += 1500
    sessions.touch(sid)
    clock.now += 1700
    assert sessions.resume(cookie, idle_seconds=1800)[1] == "ok"
    clock.now += 1801
    assert sessions.resume(cookie, idle_seconds=1800) == ("admin", "idle", sid)
    assert sessions.resume(cookie, idle_seconds=1800)[1] == "invalid"  # ended, not revived


def test_logout_ends_the_session_so_a_copied_cookie_is_worthless(sessions):
    sid, ticket = sessions.start(ADMIN, hours=8)
    cookie, _ = sessions.redeem(ticket)
    sessions.end(sid)
    assert sessions.resume(cookie, idle_seconds=0)[1] == "invalid"


def test_short_key_is_refused():
    with pytest.raises(ValueError, match="16 bytes"):
        LoginSessions(b"short")


# ---------------------------------------------------------------------------------------------
# The server's routes and middleware (plain ASGI, called directly)
# ---------------------------------------------------------------------------------------------


def call(asgi, path: str, query: str = "", *, scheme: str = "http", client: str = "127.0.0.1",
         headers: tuple = ()) -> tuple[int, dict[str, list[str]]]:
    sent: list[dict] = []

    async def receive():
        return {"type": "http.request", "body": b""}

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "path": path, "query_string": query.encode(), "scheme": scheme,
             "client": (client, 50000), "headers": [(k.encode(), v.encode()) for k, v in headers]}
    # In a thread of its own: the browser tests' Playwright holds this thread's event loop.
    worker = threading.Thread(target=asyncio.run, args=(asgi(scope, receive, send),))
    worker.start()
    worker.join(timeout=30)
    start = sent[0]
    got: dict[str, list[str]] = {}
    for key, value in start["headers"]:
        got.setdefault(key.decode().lower(), []).append(value.decode())
    return start["status"], got


def test_session_route_sets_an_http_only_strict_cookie(sessions):
    _, ticket = sessions.start(ADMIN, hours=8)
    status, headers = call(SessionCookieRoute(sessions), "/ppap/session", f"ticket={ticket}&next=/households")
    assert status == 303 and headers["location"] == ["/households"]
    cookie = headers["set-cookie"][0]
    assert cookie.startswith(f"{SESSION_COOKIE}=v1.")
    for flag in ("HttpOnly", "SameSite=Strict", "Path=/", "Max-Age=28800"):
        assert flag in cookie
    assert "Secure" not in cookie  # plain http on localhost
    value = cookie.split(";")[0].split("=", 1)[1]
    assert sessions.resume(value, idle_seconds=0)[:2] == ("admin", "ok")


def test_session_route_marks_the_cookie_secure_behind_https(sessions):
    _, ticket = sessions.start(ADMIN, hours=8)
    route = SessionCookieRoute(sessions, trusted_proxies=("127.0.0.1",))
    _, headers = call(route, "/ppap/session", f"ticket={ticket}", headers=(("X-Forwarded-Proto", "https"),))
    assert "Secure" in headers["set-cookie"][0]
    _, ticket = sessions.start(ADMIN, hours=8)
    _, headers = call(SessionCookieRoute(sessions), "/ppap/session", f"ticket={ticket}", scheme="https")
    assert "Secure" in headers["set-cookie"][0]


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x", "/\\evil", "javascript:x"])
def test_session_route_never_redirects_off_site(sessions, target):
    _, ticket = sessions.start(ADMIN, hours=8)
    status, headers = call(SessionCookieRoute(sessions), "/ppap/session", f"ticket={ticket}&next={target}")
    assert status == 303 and headers["location"] == ["/"]


def test_session_route_with_a_bad_ticket_sets_nothing(sessions):
    status, headers = call(SessionCookieRoute(sessions), "/ppap/session", "ticket=nope")
    assert status == 303 and "set-cookie" not in headers


def test_logout_route_deletes_the_cookie(sessions):
    status, headers = call(LogoutCookieRoute(sessions), "/ppap/logout", "next=/")
    assert status == 303
    cookie = headers["set-cookie"][0]
    assert cookie.startswith(f"{SESSION_COOKIE}=;") and "Max-Age=0" in cookie and "HttpOnly" in cookie


def test_session_routes_are_starlette_routes(sessions):
    routes = session_routes(sessions, base_path="atlas")
    assert [r.path for r in routes] == ["/atlas/ppap/session", "/atlas/ppap/logout"]
    assert sessions.routes_installed


def test_safe_next_path():
    assert safe_next_path("/overview?prov=46") == "/overview?prov=46"
    assert safe_next_path(None, "/atlas") == "/atlas"
    assert safe_next_path("/x\r\nSet-Cookie: a=b") == "/"


@pytest.mark.parametrize("path", ["/_stcore/metrics", "/_stcore/metrics/", "/atlas/_stcore/metrics"])
def test_metrics_are_not_public(path, monkeypatch):
    monkeypatch.delenv(EXPOSE_METRICS_ENV, raising=False)
    reached = []

    async def app(scope, receive, send):
        reached.append(scope["path"])
        await send({"type": "http.response.start", "status": 200, "headers": []})

    base = "atlas" if path.startswith("/atlas") else "/"
    status, _ = call(BlockPaths(app, base_path=base), path)
    assert status == 404 and not reached
    status, _ = call(BlockPaths(app, base_path=base), path.replace("metrics", "health"))
    assert status == 200
    monkeypatch.setenv(EXPOSE_METRICS_ENV, "1")
    assert call(BlockPaths(app, base_path=base), path)[0] == 200
    assert BLOCKED_PATHS == ("/_stcore/metrics",)


def test_the_documented_proxy_snippets_refuse_metrics_and_forward_what_the_app_needs():
    """docs/ACCESS.md's Caddy and nginx snippets (no proxy is installed here to run them)."""
    from geo.data.paths import PROJECT_ROOT

    doc = (PROJECT_ROOT / "docs" / "ACCESS.md").read_text(encoding="utf-8")
    blocks = dict(re.findall(r"```(caddy|nginx)\n(.*?)```", doc, flags=re.S))
    assert set(blocks) == {"caddy", "nginx"}
    assert re.search(r"^\s*respond /_stcore/metrics\* 404\s*$", blocks["caddy"], flags=re.M)
    assert "reverse_proxy 127.0.0.1:8501" in blocks["caddy"] and "tls" in blocks["caddy"]
    nginx = blocks["nginx"]
    assert re.search(r"location /_stcore/metrics \{ return 404; \}", nginx)
    assert "listen 443 ssl" in nginx and "proxy_pass http://127.0.0.1:8501" in nginx
    for header in ("Upgrade $http_upgrade", "X-Forwarded-For $remote_addr", "X-Forwarded-Proto $scheme"):
        assert header in nginx
    assert nginx.count("{") == nginx.count("}")
    # The app itself listens on loopback only, behind the proxy.
    config = (PROJECT_ROOT / ".streamlit" / "config.toml").read_text(encoding="utf-8")
    assert re.search(r'^address = "127\.0\.0\.1"$', config, flags=re.M)


def test_new_session_ids_are_kept_verbatim_by_the_audit_log():
    """An anonymous session id is letters only: the log's redaction of digit runs never rewrites
    one (a hex id such as 73821070030d was logged as "[number]d")."""
    from geo.access.audit import redact_text
    from geo.access.roles import new_session_id

    ids = {new_session_id() for _ in range(2000)}
    assert len(ids) == 2000 and all(len(i) == 12 and i.isalpha() and i.islower() for i in ids)
    assert all(redact_text(i, limit=64) == i for i in ids)
    assert redact_text("73821070030d", limit=64) != "73821070030d"  # what hex ids could run into
