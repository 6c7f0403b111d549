"""Bulk writes at portfolio scale, for the actions that own them.

Django's bulk_create spends about 100 microseconds per row building values and SQL,
and bulk_update builds a CASE expression per row that grows quadratically; a day's
run and a 100,000-row import spent most of their time there. These write the same
values (each field's default and get_db_prep_save) with one prepared statement:
executemany on SQLite, COPY on PostgreSQL. Primary keys are not returned.
`values_rows` is the read side: large values_list reads without Django's per-row cost.
"""

from __future__ import annotations

import decimal
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date
from typing import Any, TypeVar

from django.db import DEFAULT_DB_ALIAS, connection, connections, models
from django.db.models.functions import Cast
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
    # One converter per column, chosen once: a large day inserts 100,000 rows of ten
    # columns, and deciding per value what to do cost more than the INSERT.
    # A default is made once, unless it is a function meant to give each row its own
    # value (uuid4, say; list and dict give equal ones).
    columns_in = []
    for f in fields:
        prepare = _preparer(f, conn, cut=True)
        auto = getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False)
        each = not auto and callable(f.default) and f.default not in (list, dict)
        columns_in.append((f.attname, f, prepare, None if each else prepare(
            now if auto else f.get_default()), each))
    params = [[prepare(row[name]) if name in row else
               prepare(f.get_default()) if each else default
               for name, f, prepare, default, each in columns_in] for row in rows]
    table = _quote(model._meta.db_table)
    columns = ", ".join(_quote(f.column) for f in fields)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # COPY takes JSON too (get_db_prep_save gives psycopg's Jsonb); errors come
            # out as Django's (IntegrityError), as from the INSERT below.
            with conn.wrap_database_errors, \
                    cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                for values in params:
                    copy.write_row(values)
        else:
            sql = f"INSERT INTO {table} ({columns}) VALUES ({', '.join(['%s'] * len(fields))})"
            for chunk in chunks(params):
                cursor.executemany(sql, chunk)
    return len(params)


@contextmanager
def relaxed_commits() -> Iterator[None]:
    """Many small transactions that a rerun would redo anyway (the day's decisions, one
    per household): on PostgreSQL they do not each wait for the WAL to reach the disk
    (synchronous_commit off: each is still atomic, and a server crash can lose only the
    last fraction of a second of them, which the rerun finds not done). The first commit
    after this block waits again, and takes every earlier one to disk with it. SQLite
    is already in WAL mode with synchronous=NORMAL (settings.py)."""
    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SET synchronous_commit TO OFF")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SET synchronous_commit TO ON")


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
    prepare = [(f.attname, _preparer(f, conn))  # type: ignore[union-attr, arg-type]
               for f in columns]
    params = [[prep(getattr(obj, name)) for name, prep in prepare] + [obj.pk] for obj in objs]
    pks = [obj.pk for obj in objs]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql" and len(set(pks)) == len(pks):
            # COPY into a temporary table, then one UPDATE ... FROM it: a statement per
            # row (or a VALUES list per batch) cost PostgreSQL most of a large day's
            # matching. Distinct keys only, so the result is the same as row by row.
            pk = _quote(getattr(meta.pk, "column", "id"))
            scratch = _quote(f"vroeg_update_{meta.db_table}")
            typed = ", ".join(f"c{i} {f.db_type(conn)}"  # type: ignore[union-attr]
                              for i, f in enumerate(columns))
            assign = ", ".join(f"{_quote(getattr(f, 'column', ''))} = v.c{i}"
                               for i, f in enumerate(columns))
            names = ", ".join(f"c{i}" for i in range(len(columns)))
            cursor.execute(f"DROP TABLE IF EXISTS {scratch}")
            cursor.execute(f"CREATE TEMPORARY TABLE {scratch} ({typed}, "
                           f"pk {meta.pk.db_type(conn)})")  # type: ignore[union-attr]
            with conn.wrap_database_errors, \
                    cursor.cursor.copy(f"COPY {scratch} ({names}, pk) FROM STDIN") as copy:
                for values in params:
                    copy.write_row(values)
            cursor.execute(f"UPDATE {_quote(meta.db_table)} AS t SET {assign} FROM {scratch} "
                           f"AS v WHERE t.{pk} = v.pk")
            cursor.execute(f"DROP TABLE {scratch}")
            return
        for chunk in chunks(params):
            cursor.executemany(sql, chunk)


def _preparer(field: models.Field[Any, Any], conn: Any, cut: bool = False) -> Any:
    """get_db_prep_save for one column (what insert_rows and update_rows store), paid only
    where a value needs converting. Text, int, bool and NULL go to the driver as they are
    (what get_db_prep_save returns for them anyway); a finite Decimal too (rents differ per
    tenancy: a memo would not help); dates and other decimals are converted once per
    distinct value (a day's rows share their dates), and an empty JSON list (a matched
    payment's candidates) once. With `cut`, text longer than a CharField's max_length is
    cut: PostgreSQL refuses it, SQLite would keep it."""
    def prep(value: Any) -> Any:
        return field.get_db_prep_save(value, conn)

    if isinstance(field, models.JSONField):
        empty = prep([])
        return lambda value: empty if type(value) is list and not value else prep(value)
    if isinstance(field, models.CharField) and cut and field.max_length:
        limit = field.max_length
        return lambda value: (value if len(value) <= limit else value[:limit]) \
            if type(value) is str else None if value is None else prep(value)
    if isinstance(field, models.CharField | models.TextField):
        return lambda value: value if type(value) is str or value is None else prep(value)
    if isinstance(field, models.BooleanField):
        return lambda value: value if type(value) is bool or value is None else prep(value)
    if isinstance(field, models.IntegerField | models.ForeignKey):
        return lambda value: value if type(value) is int or value is None else prep(value)
    memo = _Memo(lambda key: prep(key[1])).__getitem__
    if isinstance(field, models.DecimalField):
        return lambda value: value if type(value) is decimal.Decimal and value.is_finite() \
            else None if value is None else memo((type(value), value))
    if isinstance(field, models.DateField):
        return lambda value: None if value is None else memo((type(value), value))
    return prep


class _Memo(dict[Any, Any]):
    """A converter that remembers: a portfolio's ledger repeats few amounts and dates."""

    LIMIT = 100_000

    def __init__(self, convert: Any) -> None:
        super().__init__()
        self.convert = convert

    def __missing__(self, key: Any) -> Any:
        if len(self) >= self.LIMIT:
            self.clear()
        value = self[key] = None if key is None else self.convert(key)
        return value


def _sqlite_converter(field: models.Field) -> Any:
    """The value Django's SQLite backend would return for a plain column of `field`
    (a date selected as text)."""
    if isinstance(field, models.DecimalField):
        # As DatabaseOperations.get_decimalfield_converter: 15 significant digits, then
        # the field's decimal places (SQLite keeps a decimal as a float or an integer).
        create = decimal.Context(prec=15).create_decimal_from_float
        places = decimal.Decimal(1).scaleb(-field.decimal_places)
        context = field.context
        return _Memo(lambda value: create(value).quantize(places, context=context)).__getitem__
    if isinstance(field, models.DateTimeField):
        raise TypeError(f"{field}: values_rows does not convert datetimes")
    if isinstance(field, models.DateField):
        return _Memo(date.fromisoformat).__getitem__
    if isinstance(field, models.BooleanField):
        return _Memo(bool).__getitem__
    if isinstance(field, models.JSONField):
        raise TypeError(f"{field}: values_rows does not convert JSON")
    return None


def values_rows(queryset: models.QuerySet[Any], names: Sequence[str],
                size: int = 10_000) -> Iterator[tuple[Any, ...]]:
    """The rows of ``queryset.values_list(*names)`` (plain columns of its own model), the
    same values Django returns, read with the bare cursor: Django's per-row iterator
    (converters looked up per value, wrappers per fetch) costs several times the query
    when a run reads the ledger of a whole portfolio."""
    meta = queryset.model._meta
    converters: list[tuple[int, Any]] = []
    selected = list(names)
    if connection.vendor == "sqlite":  # psycopg already returns Decimal, date and bool
        casts: dict[str, Any] = {}
        for i, name in enumerate(names):
            field = meta.pk if name == "pk" else meta.get_field(name)
            conv = _sqlite_converter(field)  # type: ignore[arg-type]
            if conv is not None:
                converters.append((i, conv))
            if isinstance(field, models.DateField):
                # As text: sqlite3 would parse a date column with Django's regex parser
                # (detect_types), far slower than date.fromisoformat.
                selected[i] = f"_{name}_as_text"
                casts[selected[i]] = Cast(name, output_field=models.TextField())
        if casts:
            queryset = queryset.annotate(**casts)
    sql, params = queryset.values_list(*selected).query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        while rows := cursor.fetchmany(size):
            if not converters:
                yield from (tuple(row) for row in rows)
                continue
            for row in rows:
                values = list(row)
                for i, conv in converters:
                    values[i] = conv(values[i])
                yield tuple(values)
