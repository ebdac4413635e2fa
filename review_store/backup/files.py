"""Backup files: one table per file (Parquet or JSONL), streamed in batches, plus their checksums."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from review_store.hashing import canonical_json

BATCH_ROWS = 5000


def column_kind(column: Any) -> str:
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


def arrow_schema(table: sa.Table) -> Any:
    import pyarrow as pa

    types = {
        "json": pa.string(),
        "bool": pa.bool_(),
        "int": pa.int64(),
        "float": pa.float64(),
        "datetime": pa.timestamp("us"),
        "str": pa.string(),
    }
    return pa.schema([pa.field(c.name, types[column_kind(c)], nullable=True) for c in table.columns])


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def table_rows(conn: Any, table: sa.Table) -> Iterator[list[dict[str, Any]]]:
    query = sa.select(table).order_by(*table.primary_key.columns)
    result = conn.execution_options(yield_per=BATCH_ROWS).execute(query)
    for part in result.mappings().partitions(BATCH_ROWS):
        yield [dict(row) for row in part]


def write_parquet(path: Path, table: sa.Table, batches: Iterator[list[dict[str, Any]]]) -> int:
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = arrow_schema(table)
    json_cols = [c.name for c in table.columns if column_kind(c) == "json"]
    n = 0
    with pq.ParquetWriter(path, schema) as writer:
        for batch in batches:
            for row in batch:
                for name in json_cols:
                    row[name] = None if row[name] is None else canonical_json(row[name])
            writer.write_table(pa.Table.from_pylist(batch, schema=schema))
            n += len(batch)
    return n


def write_jsonl(path: Path, table: sa.Table, batches: Iterator[list[dict[str, Any]]]) -> int:
    n = 0
    with open(path, "w", encoding="utf-8") as fh:
        for batch in batches:
            for row in batch:
                fh.write(canonical_json(row) + "\n")
            n += len(batch)
    return n


def decode_value(kind: str, value: Any) -> Any:
    if value is None:
        return None
    if kind == "datetime" and isinstance(value, str):
        return datetime.fromisoformat(value)
    return value


def read_batches(path: Path, table: sa.Table, format: str) -> Iterator[list[dict[str, Any]]]:
    kinds = {c.name: column_kind(c) for c in table.columns}
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
            batch.append({name: decode_value(kind, raw.get(name)) for name, kind in kinds.items()})
            if len(batch) >= BATCH_ROWS:
                yield batch
                batch = []
    if batch:
        yield batch
