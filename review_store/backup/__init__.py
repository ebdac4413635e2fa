"""Backups and canonical exports.

backup/archive.py: full backup and restore (a signed manifest; the restored audit chain is verified);
backup/files.py: the table files; backup/canonical.py: the canonical export used to compare databases.
"""

from __future__ import annotations

from review_store.backup.archive import (
    BACKUP_FORMATS,
    MANIFEST,
    BackupError,
    RestoreReport,
    export_backup,
    import_backup,
    schema_revision,
    verify_backup,
)
from review_store.backup.canonical import canonical_digest, canonical_export

__all__ = [
    "BACKUP_FORMATS",
    "MANIFEST",
    "BackupError",
    "RestoreReport",
    "canonical_digest",
    "canonical_export",
    "export_backup",
    "import_backup",
    "schema_revision",
    "verify_backup",
]
