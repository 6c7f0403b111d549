"""Bulk writes at portfolio scale, for the actions that own them.

Django's bulk_create spends about 100 microseconds per row building values and SQL,
and bulk_update builds a CASE expression per row that grows quadratically; a day's
run and a 100,000-row import spent most of their time there. These write the same
values (each field's default and get_db_prep_save) with one prepared statement:
executemany on SQLite, COPY on PostgreSQL. Primary keys are not returned.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any, TypeVar

from django.db import DEFAULT_DB_ALIAS, connection, connections, models
from django.utils import timezone

T = TypeVar("T")
BATCH = 5000


def chunks(items: Sequence[T], size: int = BATCH) -> Iterator[Sequence[T]]:
    for i in range(0, len(items), size):
        yield items[i:i + size]


def _quote(name: object) -> str:
    return connection.ops.quote_name(str(name))


def insert_rows(model: type[models.Model], rows: Sequence[dict[str, Any]]) -> int:
    """INSERT rows (field attname -> value; a missing field takes its model default)."""
    if not rows:
        return 0
    conn = connections[DEFAULT_DB_ALIAS]  # the real connection, not the per-thread proxy
    now = timezone.now()
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    # Text, int, bool and NULL go to the driver as they are (what get_db_prep_save
    # returns for them anyway); the rest (dates, decimals, JSON) is converted.
    as_is = [str if isinstance(f, models.CharField | models.TextField) else
             int if isinstance(f, models.IntegerField | models.ForeignKey) else
             bool if isinstance(f, models.BooleanField) else None
             for f in fields]
    cut = [getattr(f, "max_length", None) if isinstance(f, models.CharField) else None
           for f in fields]
    params: list[list[Any]] = []
    for row in rows:
        values: list[Any] = []
        for f, plain, limit in zip(fields, as_is, cut, strict=True):
            if f.attname in row:
                value = row[f.attname]
            elif getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
                value = now
            else:
                value = f.get_default()
            if value is None:
                if isinstance(f, models.JSONField):
                    value = f.get_db_prep_save(value, conn)
            elif type(value) is not plain:
                value = f.get_db_prep_save(value, conn)
            elif limit and isinstance(value, str) and len(value) > limit:
                value = value[:limit]  # PostgreSQL refuses longer strings; SQLite would keep them
            values.append(value)
        params.append(values)
    table = _quote(model._meta.db_table)
    columns = ", ".join(_quote(f.column) for f in fields)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql" and not any(
                isinstance(f, models.JSONField) for f in fields):
            with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                for values in params:
                    copy.write_row(values)
        else:
            sql = f"INSERT INTO {table} ({columns}) VALUES ({', '.join(['%s'] * len(fields))})"
            for chunk in chunks(params):
                cursor.executemany(sql, chunk)
    return len(params)


def update_rows(model: type[models.Model], objs: Sequence[Any], names: Iterable[str]) -> None:
    """UPDATE each object's `names` columns by primary key: one executemany."""
    if not objs:
        return
    meta = model._meta
    columns = [meta.get_field(name) for name in dict.fromkeys(names)]
    sql = (f"UPDATE {_quote(meta.db_table)} SET "
           + ", ".join(f"{_quote(getattr(f, 'column', ''))} = %s" for f in columns)
           + f" WHERE {_quote(getattr(meta.pk, 'column', 'id'))} = %s")
    conn = connections[DEFAULT_DB_ALIAS]
    params = [[f.get_db_prep_save(getattr(obj, f.attname), conn)  # type: ignore[union-attr]
               for f in columns] + [obj.pk] for obj in objs]
    with connection.cursor() as cursor:
        for chunk in chunks(params):
            cursor.executemany(sql, chunk)
