"""``python -m geo access ...``: password hashes, configuration checks and audit-log checks.

``hash-password``  reads a password (from the terminal without echo, or one line of standard
                   input) and prints the scrypt hash to paste into ``password_hash``. The password
                   is never taken from the command line, where ``ps`` and shell history would see it.
``check-config``   loads an access configuration and prints a summary, or the first error; in
                   ``oidc`` mode also checks the ``[auth]`` section of ``.streamlit/secrets.toml``.
``verify-audit``   checks the audit log: its hash chain, its head and its anchor (kept apart from
                   the log), their HMAC when ``$PPAP_AUDIT_KEY`` is set, and recorded breaks; exit
                   code 1 when it was tampered with (records cut off, the log deleted, ...).
"""

from __future__ import annotations

import argparse
import getpass
import sys
import tomllib

from geo.access.roles import (
    ACCESS_CONFIG_ENV,
    MIN_PASSWORD_LENGTH,
    ROLE_LABELS,
    access_config_path,
    hash_password,
    load_access_config,
    oidc_problem,
)
from geo.errors import AccessConfigError
from geo.access.audit import AUDIT_KEY_ENV, AUDIT_LOG_ENV, anchor_path, audit_log_path, check_audit_log
from geo.errors import AuditError
from geo.data.paths import PROJECT_ROOT

#: Streamlit's secrets file, read by ``check-config`` in ``oidc`` mode.
SECRETS_FILE = PROJECT_ROOT / ".streamlit" / "secrets.toml"


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    """Add ``access hash-password``, ``access check-config`` and ``access verify-audit``."""
    parser = subparsers.add_parser("access", help="access control: password hashes, configuration, audit log")
    commands = parser.add_subparsers(dest="access_command", required=True, metavar="ACTION")

    hashing = commands.add_parser(
        "hash-password",
        help="print the scrypt hash of a password (read from the terminal or standard input)",
        description="Read a password without echo (twice), or one line from standard input when it is not a "
                    "terminal, and print the hash for password_hash in the access configuration.",
    )
    hashing.set_defaults(func=_cmd_hash_password)

    check = commands.add_parser("check-config", help="check an access configuration and summarise it")
    check.add_argument("path", nargs="?", default=None,
                       help=f"the TOML file (default: ${ACCESS_CONFIG_ENV}, else config/access.toml)")
    check.set_defaults(func=_cmd_check_config)

    verify = commands.add_parser("verify-audit", help="check the audit log's hash chain")
    verify.add_argument("path", nargs="?", default=None,
                        help=f"the log (default: ${AUDIT_LOG_ENV}, else data/audit/audit.jsonl)")
    verify.set_defaults(func=_cmd_verify_audit)


def _read_password() -> str:
    if sys.stdin.isatty():
        first = getpass.getpass("Password: ")
        second = getpass.getpass("Again: ")
        if first != second:
            raise AccessConfigError("the two passwords differ; nothing was hashed")
        return first
    line = sys.stdin.readline()
    return line.removesuffix("\n").removesuffix("\r")


def _cmd_hash_password(args: argparse.Namespace) -> int:
    password = _read_password()
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccessConfigError(f"password: use at least {MIN_PASSWORD_LENGTH} characters (got {len(password)})")
    try:
        print(hash_password(password))
    except ValueError as exc:
        raise AccessConfigError(str(exc)) from None
    return 0


def _cmd_check_config(args: argparse.Namespace) -> int:
    file, explicit = access_config_path(args.path)
    config = load_access_config(args.path)
    if not explicit and not file.is_file():
        print(f"no configuration at {file}: mode none, everyone browses as the public viewer")
        return 0
    print(f"{config.source}: ok")
    print(f"mode: {config.mode}; public access: {'yes' if config.public_access else 'no'}"
          + (f"; OIDC provider: {config.oidc_provider}" if config.oidc_provider else ""))
    if config.mode == "local":
        print(f"lockout: {config.max_failed_logins} failed logins per username, "
              f"{config.max_failed_logins_per_client} per client -> {config.lockout_seconds:g} s")
        print(f"login kept across reloads: {'yes' if config.remember_login else 'no'}"
              f" (signed HTTP-only cookie, at most {config.session_hours:g} h)")
    if config.mode != "none":
        idle = f"{config.idle_timeout_minutes:g} min" if config.idle_timeout_minutes else "off"
        print(f"idle timeout: {idle}; trusted proxies: {', '.join(config.trusted_proxies) or 'none'}")
    if config.mode == "oidc":
        problem = _oidc_secrets_problem(config)
        print(f"{SECRETS_FILE}: {'ok' if not problem else 'NOT OK: ' + problem}")
    for user in config.users:
        scope = user.scope.describe("en")
        print(f"  {user.username:<20} {ROLE_LABELS[user.role]['en']:<20} {scope}")
    for warning in config.warnings:
        print(f"warning: {warning}")
    return 0


def _oidc_secrets_problem(config) -> str:
    try:
        secrets = tomllib.loads(SECRETS_FILE.read_text(encoding="utf-8")) if SECRETS_FILE.is_file() else {}
    except (OSError, tomllib.TOMLDecodeError) as exc:
        return f"cannot be read: {exc}"
    return oidc_problem(secrets.get("auth"), config.oidc_provider)


def _cmd_verify_audit(args: argparse.Namespace) -> int:
    path = args.path or audit_log_path()
    try:
        check = check_audit_log(path)
    except AuditError as exc:
        print(f"{path}: cannot be checked: {exc}")
        return 1
    signed = "signed with $" + AUDIT_KEY_ENV if check.keyed else "not signed ($" + AUDIT_KEY_ENV + " not set)"
    print(f"anchor: {anchor_path(path)}; checkpoints {signed}")
    if check.ok:
        print(f"{path}: ok, {check.lines} records")
        return 0
    print(f"{path}: NOT OK at line {check.first_bad_line}: {check.problem}")
    return 1
