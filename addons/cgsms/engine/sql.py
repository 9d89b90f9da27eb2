"""Bulk SQL for the hot path of the engine: one query for a chunk instead of one ORM write
per SMS."""

from odoo import sql_db
from odoo.tools import SQL


def transaction_now(cr):
    """The transaction's time, as ``cr.now()`` gives it (what the ORM writes in
    ``write_date``), without the query ``cr.now()`` makes for it once per transaction on a
    real cursor. A test cursor keeps its own clock."""
    if type(cr) is sql_db.Cursor:
        return SQL("(now() AT TIME ZONE 'UTC')")
    return SQL("%s", cr.now())


def bulk_update(records, columns, rows, constants):
    """Update many rows of ``records``' table in one query: each of ``rows`` is ``(id,
    *values of columns)``; ``constants`` are set on every row. The cache of those records is
    invalidated and their dependents are told, as an ORM write would."""
    if not rows:
        return
    model = records.browse()
    table = SQL.identifier(model._table)
    names = ["id", *columns]
    assignments = [SQL("%s = v.%s", SQL.identifier(c), SQL.identifier(c)) for c in columns]
    assignments += [SQL("%s = %s", SQL.identifier(c), v) for c, v in constants.items()]
    assignments += [
        SQL("write_date = %s", transaction_now(model.env.cr)),
        SQL("write_uid = %s", model.env.uid),
    ]
    model.env.cr.execute(
        SQL(
            "UPDATE %s SET %s FROM (VALUES %s) AS v(%s) WHERE %s.id = v.id",
            table,
            SQL(", ").join(assignments),
            SQL(", ").join(SQL("%s", tuple(row)) for row in rows),
            SQL(", ").join(SQL.identifier(n) for n in names),
            table,
        )
    )
    changed = model.browse([row[0] for row in rows])
    fnames = [*columns, *constants, "write_date", "write_uid"]
    changed.invalidate_recordset(fnames)
    changed.modified(fnames)
