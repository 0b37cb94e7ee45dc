"""Who may see and do what: roles, scopes, passwords, logins and sessions
(:mod:`geo.access.roles`), and the append-only audit log (:mod:`geo.access.audit`). Beside the
views: builds on :mod:`geo.engine` and :mod:`geo.data` (docs/ARCHITECTURE.md)."""
