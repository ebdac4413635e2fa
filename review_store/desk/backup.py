"""desk.backup: full, signed backups and verified restores (into an empty database)."""

from __future__ import annotations

from pathlib import Path

from review_store.audit import keys
from review_store.backup import export_backup, import_backup
from review_store.desk.base import Part, ReadModel
from review_store.permissions import SYSTEM, Actor, refresh_actor


class TableCount(ReadModel):
    table: str
    rows: int


class BackupView(ReadModel):
    """What a backup holds (export) or what a restore wrote."""

    directory: str
    format: str
    schema_revision: str | None
    key_id: str | None
    tables: tuple[TableCount, ...]
    rows: int
    migrated: bool


class BackupPart(Part):
    def export(self, *, actor: Actor = SYSTEM, directory: str, format: str = "parquet") -> BackupView:
        """Write every table and a manifest signed with the audit key into a new or empty directory.

        Needs `export_data` (system, admins, leads); BackupError for a used directory or a bad format.
        """
        with self._read() as session:
            who = refresh_actor(session, actor)
        with self._clock():
            manifest = export_backup(self._desk.engine, directory=directory, format=format, actor=who)
        tables = tuple(TableCount(table=t, rows=v["rows"]) for t, v in sorted(manifest["tables"].items()))
        return BackupView(
            directory=str(directory),
            format=manifest["format"],
            schema_revision=manifest.get("schema_revision"),
            key_id=manifest["signature"]["key_id"],
            tables=tables,
            rows=sum(t.rows for t in tables),
            migrated=False,
        )

    def restore(
        self, *, directory: str, key_file: str | None = None, accept_unsigned: bool = False
    ) -> BackupView:
        """Restore into an EMPTY database: checksums, the manifest's signature and the restored audit
        chain must all verify, else nothing is restored (BackupError / DatabaseNotEmpty).

        `key_file`: the key of the database the backup came from (default: this database's key); it is
        installed beside a SQLite target that has none. Operators only (it replaces a whole database).
        """
        key = keys.read_key_file(Path(key_file).expanduser()) if key_file else None
        with self._clock():
            report = import_backup(
                self._desk.engine, directory=directory, key=key, accept_unsigned=accept_unsigned
            )
        tables = tuple(TableCount(table=t, rows=n) for t, n in sorted(report.tables.items()))
        used = key or keys.load(self._desk.url)
        return BackupView(
            directory=report.directory,
            format=report.format,
            schema_revision=report.schema_revision,
            key_id=used.key_id if used else None,
            tables=tables,
            rows=sum(t.rows for t in tables),
            migrated=report.migrated,
        )
