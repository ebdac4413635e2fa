"""Backups and canonical exports: every table, rows in primary-key order, values in a stable JSON form.

The canonical form leaves out what legitimately differs between two builds of the same data:
password hashes (salted), audit timestamps and hashes, and settings' update times.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel, select

from review_store.errors import DatabaseNotEmpty, ValidationFailed
from review_store.hashing import canonical_json, content_hash
from review_store.models import utcnow
from review_store.permissions import SYSTEM, Actor, require

VOLATILE_COLUMNS: dict[str, set[str]] = {
    "user": {"password_hash"},
    "auditevent": {"ts", "prev_hash", "hash"},
    "setting": {"updated_at"},
}
VOLATILE_ROWS: dict[str, set[str]] = {"setting": {"audit.head"}}


def _value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat(timespec="microseconds")
    if isinstance(value, float):
        return round(value, 9)
    return value


def canonical_export(session: Session) -> dict[str, list[dict[str, Any]]]:
    """All tables as lists of dicts, ordered by primary key, volatile columns removed."""
    out: dict[str, list[dict[str, Any]]] = {}
    for table in SQLModel.metadata.sorted_tables:
        skip = VOLATILE_COLUMNS.get(table.name, set())
        columns = [c for c in table.columns if c.name not in skip]
        pk = list(table.primary_key.columns)
        rows = session.exec(select(*columns).order_by(*pk)).all()
        records = [{c.name: _value(v) for c, v in zip(columns, row, strict=True)} for row in rows]
        if table.name in VOLATILE_ROWS:
            records = [r for r in records if r.get("key") not in VOLATILE_ROWS[table.name]]
        out[table.name] = records
    return out


def canonical_digest(session: Session) -> str:
    """One sha256 over the canonical export, for 'are these two databases the same' checks."""
    return content_hash(canonical_export(session))


# --- full backup and restore --------------------------------------------------------------------------
#
# A backup is a directory: one file per table (Parquet or JSONL), rows in primary-key order, and
# manifest.json with the schema revision, row counts and a sha256 per file. Restore goes only into an
# empty database, checks every checksum before it writes anything, inserts in foreign-key order in one
# transaction and moves PostgreSQL sequences past the restored ids. Audit events are copied verbatim,
# so the restored chain verifies; restore itself records no event (that would make the copy differ).

MANIFEST = "manifest.json"
BACKUP_FORMATS = ("parquet", "jsonl")
BATCH_ROWS = 5000
BACKUP_VERSION = 1


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


def _kind(column: Any) -> str:
    kind = column.type
    if isinstance(kind, sa.JSON):
        return "json"
    if isinstance(kind, sa.Boolean):
        return "bool"
    if isinstance(kind, sa.Integer):
        return "int"
    if isinstance(kind, sa.Float | sa.Numeric):
        return "float"
    if isinstance(kind, sa.DateTime):
        return "datetime"
    return "str"


def _arrow_schema(table: sa.Table) -> Any:
    import pyarrow as pa

    types = {
        "json": pa.string(),
        "bool": pa.bool_(),
        "int": pa.int64(),
        "float": pa.float64(),
        "datetime": pa.timestamp("us"),
        "str": pa.string(),
    }
    return pa.schema([pa.field(c.name, types[_kind(c)], nullable=True) for c in table.columns])


def schema_revision(engine: Engine) -> str | None:
    """The Alembic revision the database is stamped with (None when it was never migrated)."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _rows(conn: Any, table: sa.Table) -> Iterator[list[dict[str, Any]]]:
    query = sa.select(table).order_by(*table.primary_key.columns)
    result = conn.execution_options(yield_per=BATCH_ROWS).execute(query)
    for part in result.mappings().partitions(BATCH_ROWS):
        yield [dict(row) for row in part]


def _write_parquet(path: Path, table: sa.Table, batches: Iterator[list[dict[str, Any]]]) -> int:
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = _arrow_schema(table)
    json_cols = [c.name for c in table.columns if _kind(c) == "json"]
    n = 0
    with pq.ParquetWriter(path, schema) as writer:
        for batch in batches:
            for row in batch:
                for name in json_cols:
                    row[name] = None if row[name] is None else canonical_json(row[name])
            writer.write_table(pa.Table.from_pylist(batch, schema=schema))
            n += len(batch)
    return n


def _write_jsonl(path: Path, table: sa.Table, batches: Iterator[list[dict[str, Any]]]) -> int:
    n = 0
    with open(path, "w", encoding="utf-8") as fh:
        for batch in batches:
            for row in batch:
                fh.write(canonical_json(row) + "\n")
            n += len(batch)
    return n


def export_backup(
    engine: Engine, *, directory: str | os.PathLike[str], format: str = "parquet", actor: Actor = SYSTEM
) -> dict[str, Any]:
    """Write every table and manifest.json into `directory` (new or empty); returns the manifest.

    Reads in one snapshot-like pass per table, streamed in batches so memory stays flat.
    Raises PermissionDenied without `export_data`, BackupError for a bad format or a used directory.
    """
    require(actor, "export_data")
    if format not in BACKUP_FORMATS:
        raise BackupError(f"--format must be one of {', '.join(BACKUP_FORMATS)}, not {format!r}")
    out = Path(directory)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise BackupError(f"{out}: exists and is not an empty directory; pick a new one")
    out.mkdir(parents=True, exist_ok=True)
    writer = _write_parquet if format == "parquet" else _write_jsonl
    tables: dict[str, dict[str, Any]] = {}
    with engine.connect() as conn:
        for table in SQLModel.metadata.sorted_tables:
            name = f"{table.name}.{format}"
            count = writer(out / name, table, _rows(conn, table))
            tables[table.name] = {"file": name, "rows": count, "sha256": _sha256(out / name)}
    manifest = {
        "backup_version": BACKUP_VERSION,
        "format": format,
        "schema_revision": schema_revision(engine),
        "source_dialect": engine.dialect.name,
        "created_at": utcnow().isoformat(timespec="seconds") + "Z",
        "created_by": actor.username,
        "tables": tables,
    }
    (out / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return manifest


def verify_backup(directory: str | os.PathLike[str]) -> dict[str, Any]:
    """Read the manifest and check every file's sha256; BackupError names the first bad file."""
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
        if _sha256(path) != entry.get("sha256"):
            raise BackupError(f"{path}: checksum mismatch (sha256 differs from the manifest); file corrupted")
    return manifest


def _decode(kind: str, value: Any) -> Any:
    if value is None:
        return None
    if kind == "datetime" and isinstance(value, str):
        return datetime.fromisoformat(value)
    return value


def _read_batches(path: Path, table: sa.Table, format: str) -> Iterator[list[dict[str, Any]]]:
    kinds = {c.name: _kind(c) for c in table.columns}
    if format == "parquet":
        import pyarrow.parquet as pq

        for batch in pq.ParquetFile(path).iter_batches(batch_size=BATCH_ROWS):
            rows = batch.to_pylist()
            for row in rows:
                for name, kind in kinds.items():
                    if kind == "json" and row[name] is not None:
                        row[name] = json.loads(row[name])
            yield rows
        return
    batch: list[dict[str, Any]] = []
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            raw = json.loads(line)
            batch.append({name: _decode(kind, raw.get(name)) for name, kind in kinds.items()})
            if len(batch) >= BATCH_ROWS:
                yield batch
                batch = []
    if batch:
        yield batch


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
        if len(pk) != 1 or _kind(pk[0]) != "int":
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


def import_backup(engine: Engine, *, directory: str | os.PathLike[str]) -> RestoreReport:
    """Restore a backup into an EMPTY database (tables are created when there are none).

    Every checksum is verified before anything is written; all rows go in one transaction, in
    foreign-key order; PostgreSQL sequences are reset after. Raises BackupError (bad/corrupted backup,
    schema mismatch) or DatabaseNotEmpty.
    """
    manifest = verify_backup(directory)
    migrated = _prepare_target(engine, manifest)
    src, fmt = Path(directory), manifest["format"]
    report = RestoreReport(str(src), fmt, manifest.get("schema_revision"), migrated=migrated)
    with engine.begin() as conn:
        for table in SQLModel.metadata.sorted_tables:
            entry = manifest["tables"][table.name]
            n = 0
            for batch in _read_batches(src / entry["file"], table, fmt):
                conn.execute(table.insert(), batch)
                n += len(batch)
            if n != entry["rows"]:
                raise BackupError(f"{src / entry['file']}: holds {n} rows, the manifest says {entry['rows']}")
            report.tables[table.name] = n
        if conn.dialect.name == "postgresql":
            _reset_sequences(conn)
    return report
