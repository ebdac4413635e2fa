"""Full backup and restore: a signed directory of table files, restored only after every check holds."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel

from review_store.audit import keys
from review_store.audit.chain import verify as verify_chain
from review_store.audit.keys import AuditKey
from review_store.backup.files import (
    column_kind,
    read_batches,
    sha256_file,
    table_rows,
    write_jsonl,
    write_parquet,
)
from review_store.errors import DatabaseNotEmpty, ValidationFailed
from review_store.hashing import canonical_json
from review_store.models import utcnow
from review_store.permissions import SYSTEM, Actor, require

# --- full backup and restore --------------------------------------------------------------------------
#
# A backup is a directory: one file per table (Parquet or JSONL), rows in primary-key order, and
# manifest.json with the schema revision, row counts and a sha256 per file. Restore goes only into an
# empty database, checks every checksum before it writes anything, inserts in foreign-key order in one
# transaction and moves PostgreSQL sequences past the restored ids. Audit events are copied verbatim,
# so the restored chain verifies; restore itself records no event (that would make the copy differ).
#
# Authenticity: the manifest (which holds every file's sha256) is signed with an HMAC under the audit
# key, so editing a file and fixing its checksum is refused. Restore also verifies the restored audit
# chain before it commits: a chain that does not verify restores nothing.

MANIFEST = "manifest.json"
BACKUP_FORMATS = ("parquet", "jsonl")
BACKUP_VERSION = 2  # 2: signed manifest


class BackupError(ValidationFailed):
    """The backup directory or the target database cannot be used; the message names the file."""


@dataclass
class RestoreReport:
    directory: str
    format: str
    schema_revision: str | None
    tables: dict[str, int] = field(default_factory=dict)
    migrated: bool = False

    def as_dict(self) -> dict[str, Any]:
        return asdict(self) | {"rows": sum(self.tables.values())}


def schema_revision(engine: Engine) -> str | None:
    """The Alembic revision the database is stamped with (None when it was never migrated)."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def export_backup(
    engine: Engine, *, directory: str | os.PathLike[str], format: str = "parquet", actor: Actor = SYSTEM
) -> dict[str, Any]:
    """Write every table and manifest.json into `directory` (new or empty); returns the manifest.

    The manifest is signed with the audit key (laptop mode creates it; team mode needs one). Reads
    in one snapshot-like pass per table, streamed in batches so memory stays flat.
    Raises PermissionDenied without `export_data`, BackupError for a bad format or a used directory.
    """
    require(actor, "export_data")
    if format not in BACKUP_FORMATS:
        raise BackupError(f"--format must be one of {', '.join(BACKUP_FORMATS)}, not {format!r}")
    out = Path(directory)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise BackupError(f"{out}: exists and is not an empty directory; pick a new one")
    out.mkdir(parents=True, exist_ok=True)
    writer = write_parquet if format == "parquet" else write_jsonl
    tables: dict[str, dict[str, Any]] = {}
    with engine.connect() as conn:
        for table in SQLModel.metadata.sorted_tables:
            name = f"{table.name}.{format}"
            count = writer(out / name, table, table_rows(conn, table))
            tables[table.name] = {"file": name, "rows": count, "sha256": sha256_file(out / name)}
    manifest: dict[str, Any] = {
        "backup_version": BACKUP_VERSION,
        "format": format,
        "schema_revision": schema_revision(engine),
        "source_dialect": engine.dialect.name,
        "created_at": utcnow().isoformat(timespec="seconds") + "Z",
        "created_by": actor.username,
        "tables": tables,
    }
    key = keys.require(_url(engine))
    manifest["signature"] = {"key_id": key.key_id, "hmac": key.mac("backup", manifest_signed_text(manifest))}
    (out / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return manifest


def manifest_signed_text(manifest: dict[str, Any]) -> str:
    return canonical_json({k: v for k, v in manifest.items() if k != "signature"})


def verify_backup(
    directory: str | os.PathLike[str], *, key: AuditKey | None = None, accept_unsigned: bool = False
) -> dict[str, Any]:
    """Check every file's sha256, then the manifest's signature under `key`; BackupError names the problem.

    `key` None checks only the checksums of a signed backup (integrity, not authenticity: callers
    that restore always pass the key). `accept_unsigned` lets a backup from before signing through.
    """
    src = Path(directory)
    manifest_path = src / MANIFEST
    if not manifest_path.is_file():
        raise BackupError(f"{manifest_path}: no manifest; is this a review-desk backup directory?")
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise BackupError(f"{manifest_path}: not valid JSON ({exc})") from None
    if manifest.get("format") not in BACKUP_FORMATS or not isinstance(manifest.get("tables"), dict):
        raise BackupError(f"{manifest_path}: missing or unknown 'format' / 'tables'")
    known = {t.name for t in SQLModel.metadata.sorted_tables}
    unknown = sorted(set(manifest["tables"]) - known)
    missing = sorted(known - set(manifest["tables"]))
    if unknown or missing:
        raise BackupError(
            f"{manifest_path}: tables do not match this version (unknown: {unknown}, missing: {missing})"
        )
    for table, entry in manifest["tables"].items():
        path = src / str(entry.get("file", ""))
        if not path.is_file() or path.parent != src:
            raise BackupError(f"{path}: listed in the manifest for table {table!r} but missing")
        if sha256_file(path) != entry.get("sha256"):
            raise BackupError(f"{path}: checksum mismatch (sha256 differs from the manifest); file corrupted")
    _check_signature(manifest_path, manifest, key, accept_unsigned=accept_unsigned, required=key is not None)
    return manifest


def _check_signature(
    path: Path, manifest: dict[str, Any], key: AuditKey | None, *, accept_unsigned: bool, required: bool
) -> None:
    signature = manifest.get("signature")
    if signature is None:
        if not accept_unsigned:
            raise BackupError(
                f"{path}: the backup is not signed (written before audit keys, or the signature was "
                "removed); restore it with --accept-unsigned only if you trust where it came from"
            )
        return
    if not required:
        return
    if key is None:
        raise BackupError(f"{path}: signed backup, but there is no audit key to check it with")
    if not isinstance(signature, dict) or signature.get("key_id") != key.key_id:
        found = signature.get("key_id") if isinstance(signature, dict) else None
        raise BackupError(
            f"{path}: signed with audit key {found}, but the key given is {key.key_id}; "
            "use the key of the database the backup came from (--key-file or REVIEW_DESK_AUDIT_KEY_FILE)"
        )
    if not key.check("backup", manifest_signed_text(manifest), signature.get("hmac")):
        raise BackupError(
            f"{path}: signature does not verify: the manifest or a file's checksum in it was edited; "
            "nothing imported"
        )


def _url(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def _prepare_target(engine: Engine, manifest: dict[str, Any]) -> bool:
    """Migrate a database with no tables; refuse one that holds any row. Returns True if migrated."""
    from review_store import schema

    inspector = sa.inspect(engine)
    present = [t for t in SQLModel.metadata.sorted_tables if inspector.has_table(t.name)]
    migrated = False
    if not present:
        schema.upgrade(_url(engine))
        migrated = True
    else:
        absent = [t.name for t in SQLModel.metadata.sorted_tables if t not in present]
        if absent:
            raise BackupError(f"target database is missing tables {absent}; run `review-desk db upgrade`")
        with engine.connect() as conn:
            for table in present:
                if conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one():
                    raise DatabaseNotEmpty(
                        f"target database is not empty (table {table.name!r} has rows); "
                        "restore only into an empty database"
                    )
    wanted, have = manifest.get("schema_revision"), schema_revision(engine)
    if wanted and have and wanted != have:
        raise BackupError(
            f"backup schema revision {wanted} differs from the target's {have}; "
            "upgrade both to the same revision first"
        )
    return migrated


def _reset_sequences(conn: Any) -> None:
    for table in SQLModel.metadata.sorted_tables:
        pk = list(table.primary_key.columns)
        if len(pk) != 1 or column_kind(pk[0]) != "int":
            continue
        quoted = conn.dialect.identifier_preparer.format_table(table)
        col_name = pk[0].name
        conn.execute(
            sa.text(
                f"SELECT setval(pg_get_serial_sequence(:t, :c), COALESCE(MAX({col_name}), 1), "
                f"MAX({col_name}) IS NOT NULL) FROM {quoted}"
            ),
            {"t": quoted, "c": col_name},
        )


def import_backup(
    engine: Engine,
    *,
    directory: str | os.PathLike[str],
    key: AuditKey | None = None,
    accept_unsigned: bool = False,
) -> RestoreReport:
    """Restore a backup into an EMPTY database (tables are created when there are none).

    Every checksum and the manifest's signature (under `key`, default the target's audit key) are
    verified before anything is written; all rows go in one transaction, in foreign-key order; the
    restored audit chain is verified before commit (a chain that does not verify restores nothing);
    PostgreSQL sequences are reset after. A key handed in is installed beside a SQLite target that has
    none. Raises BackupError (bad, forged or corrupted backup, schema mismatch) or DatabaseNotEmpty.
    """
    given = key
    key = key or keys.load(_url(engine))
    if key is None and not accept_unsigned:
        raise BackupError(
            f"{Path(directory) / MANIFEST}: no audit key to check the backup's signature; give the key "
            "of the database it came from (--key-file, or REVIEW_DESK_AUDIT_KEY_FILE / REVIEW_DESK_AUDIT_KEY)"
        )
    manifest = verify_backup(directory, key=key, accept_unsigned=accept_unsigned)
    if key is not None:
        _check_signature(Path(directory) / MANIFEST, manifest, key, accept_unsigned=accept_unsigned,
                         required=True)  # fmt: skip
    migrated = _prepare_target(engine, manifest)
    src, fmt = Path(directory), manifest["format"]
    report = RestoreReport(str(src), fmt, manifest.get("schema_revision"), migrated=migrated)
    with engine.begin() as conn:
        for table in SQLModel.metadata.sorted_tables:
            entry = manifest["tables"][table.name]
            n = 0
            for batch in read_batches(src / entry["file"], table, fmt):
                conn.execute(table.insert(), batch)
                n += len(batch)
            if n != entry["rows"]:
                raise BackupError(f"{src / entry['file']}: holds {n} rows, the manifest says {entry['rows']}")
            report.tables[table.name] = n
        with Session(bind=conn) as session:
            chain = verify_chain(session, key=key)
        if not chain.ok:
            raise BackupError(
                f"{src}: the restored audit chain does not verify (seq {chain.first_bad_seq}: "
                f"{chain.problem}); nothing restored"
            )
        if conn.dialect.name == "postgresql":
            _reset_sequences(conn)
    if given is not None:
        _install_key(engine, given)
    return report


def _install_key(engine: Engine, key: AuditKey) -> None:
    """Put the key a restore was given where this SQLite database will look for it (if nothing is there)."""
    url = _url(engine)
    path = keys.key_path(url)
    if keys.is_team_mode(url) or path is None or path.exists():
        return
    keys.write_key_file(path, key.secret)
