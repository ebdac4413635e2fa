"""The audit key: a secret kept OUTSIDE the database that keys the chain, the head, checkpoints and backups.

Whoever can write the database can recompute a plain sha256 chain; they cannot recompute an HMAC chain
without this key. Where the key comes from, first match wins:

1. REVIEW_DESK_AUDIT_KEY: the key itself (at least 32 characters; `audit init-key --print` makes one);
2. REVIEW_DESK_AUDIT_KEY_FILE: a file holding it (mode 0600);
3. the default file: beside a SQLite database (`review_desk.db` -> `review_desk.db.audit-key`), else
   `$XDG_CONFIG_HOME/review-desk/audit.key` (default `~/.config/review-desk/audit.key`).

Laptop mode (a SQLite file) creates the default file on first use, so `make run` just works. Team mode
(PostgreSQL) never invents a key: every replica must share one, so state changes are refused until
`review-desk audit init-key` has written it (or one of the variables above is set).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import stat
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from sqlalchemy.engine import make_url

from review_store.errors import ValidationFailed

ENV_KEY = "REVIEW_DESK_AUDIT_KEY"
ENV_KEY_FILE = "REVIEW_DESK_AUDIT_KEY_FILE"
MIN_KEY_CHARS = 32


class AuditKeyMissing(ValidationFailed):
    """No audit key is available where one is required; the message says how to create it."""


@dataclass(frozen=True)
class AuditKey:
    """The secret and where it came from. Purposes get their own derived keys (domain separation)."""

    secret: bytes = field(repr=False)
    source: str

    def mac(self, purpose: str, data: str) -> str:
        """Hex HMAC-SHA256 of `data` under the sub-key for `purpose` (chain, head, checkpoint, backup)."""
        return hmac.new(_derive(self.secret, purpose), data.encode("utf-8"), hashlib.sha256).hexdigest()

    def check(self, purpose: str, data: str, mac: object) -> bool:
        return isinstance(mac, str) and hmac.compare_digest(self.mac(purpose, data), mac)

    def seed(self, purpose: str) -> bytes:
        """32 bytes derived for `purpose` (e.g. the ed25519 seed of release bundles, audit/signing.py)."""
        return _derive(self.secret, purpose)

    @property
    def key_id(self) -> str:
        """A public fingerprint (16 hex characters): names the key without revealing it."""
        return self.mac("key-id", "review-desk")[:16]


@lru_cache(maxsize=64)
def _derive(secret: bytes, purpose: str) -> bytes:
    return hmac.new(secret, f"review-desk/audit/{purpose}/v1".encode(), hashlib.sha256).digest()


def is_team_mode(url: str) -> bool:
    """Anything but a SQLite database is shared by several processes and people: team mode."""
    return make_url(url).get_backend_name() != "sqlite"


def config_dir() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "review-desk"


def default_path(url: str) -> Path:
    """Where the key file of this database lives when no variable names one."""
    parsed = make_url(url)
    database = parsed.database or ""
    if parsed.get_backend_name() == "sqlite" and database and database != ":memory:":
        db_file = Path(database).expanduser().resolve()
        return db_file.with_name(db_file.name + ".audit-key")
    return config_dir() / "audit.key"


def key_path(url: str) -> Path | None:
    """The key file that applies to `url` (None when the key comes from REVIEW_DESK_AUDIT_KEY)."""
    if os.environ.get(ENV_KEY):
        return None
    named = os.environ.get(ENV_KEY_FILE)
    return Path(named).expanduser() if named else default_path(url)


def parse_secret(text: str, *, where: str) -> bytes:
    value = text.strip()
    if len(value) < MIN_KEY_CHARS:
        raise ValidationFailed(
            f"{where}: an audit key needs at least {MIN_KEY_CHARS} characters, got {len(value)}"
        )
    return value.encode("utf-8")


_file_cache: dict[Path, tuple[int, int, AuditKey]] = {}


def read_key_file(path: Path) -> AuditKey:
    """Load a key file; refuses one that other users can read (like ssh does)."""
    try:
        info = path.stat()
    except OSError as exc:
        raise AuditKeyMissing(f"{path}: cannot read the audit key ({exc.strerror})") from None
    if not path.is_file():
        raise ValidationFailed(f"{path}: the audit key must be a regular file")
    if os.name == "posix" and info.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ValidationFailed(
            f"{path}: the audit key is readable by other users (mode {stat.S_IMODE(info.st_mode):o}); "
            f"run `chmod 600 {path}`"
        )
    cached = _file_cache.get(path)
    if cached and cached[:2] == (info.st_mtime_ns, info.st_size):
        return cached[2]
    key = AuditKey(parse_secret(path.read_text(encoding="utf-8"), where=str(path)), str(path))
    _file_cache[path] = (info.st_mtime_ns, info.st_size, key)
    return key


def write_key_file(path: Path, secret: bytes | None = None) -> bool:
    """Create `path` (mode 0600) with a new random key, atomically; False when it already existed."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    text = (secret or secrets.token_hex(32).encode()).decode() + "\n"
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        try:
            os.link(tmp, path)  # fails if another process created it first: theirs wins
        except FileExistsError:
            return False
        return True
    finally:
        tmp.unlink(missing_ok=True)


def load(url: str, *, create: bool = False) -> AuditKey | None:
    """The key for `url`, or None when there is none. `create`: make the default file (laptop mode only)."""
    env = os.environ.get(ENV_KEY)
    if env:
        return AuditKey(parse_secret(env, where=ENV_KEY), f"${ENV_KEY}")
    path = key_path(url)
    assert path is not None
    if not path.exists():
        if not (create and not is_team_mode(url)):
            return None
        write_key_file(path)
    return read_key_file(path)


def missing_message(url: str) -> str:
    path = key_path(url) or default_path(url)
    return (
        "no audit key: team mode (a shared PostgreSQL database) needs the key that signs the audit chain, "
        f"kept outside the database. Create it once with `review-desk audit init-key` (writes {path}, "
        f"mode 0600) and give every app and CLI process the same key through {ENV_KEY_FILE} or {ENV_KEY}. "
        "Nothing was written."
    )


def require(url: str) -> AuditKey:
    """The key for state changes: laptop mode creates it on first use; team mode refuses without one."""
    key = load(url, create=True)
    if key is None:
        raise AuditKeyMissing(missing_message(url))
    return key
