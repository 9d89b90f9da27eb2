"""Bulk SQL for the hot path of the engine: one query for a chunk instead of one ORM write
per SMS, and the statements that cost PostgreSQL more to plan than to run declared as
PL/pgSQL functions (``function``)."""

from odoo import sql_db
from odoo.tools import SQL

# PL/pgSQL functions of the hot path, {name: (arguments, result, body)}, declared by the engine
# module whose statement each one is (``function``). PostgreSQL plans a query sent as text at
# every call (a few hundred microseconds for a join over Odoo's tables, more than running it
# for a chunk); the statements of a function are planned once per database connection, and
# again only when a table they read changes. Nothing to configure: this works the same
# through a connection pooler, unlike prepared statements.
FUNCTIONS = {}
# Serialises the creation of the functions between Odoo processes starting together.
_FUNCTIONS_LOCK = 0x6367736D73  # "cgsms"


def function(name, arguments, result, body):
    """Declare the PL/pgSQL function ``name`` (created by ``ensure_functions``); returns
    ``name``, to be called with ``SELECT``."""
    body = f"\n#variable_conflict use_column\nBEGIN\n{body.strip()}\nEND\n"
    assert "$cgsms$" not in body, name
    FUNCTIONS[name] = (arguments, result, body)
    return name


def functions_current(cr):
    """Whether every function of ``FUNCTIONS`` exists as declared."""
    cr.execute(
        "SELECT p.proname, p.prosrc FROM pg_proc p"
        " JOIN pg_namespace n ON n.oid = p.pronamespace"
        " WHERE n.nspname = current_schema() AND p.proname = ANY(%s)",
        [list(FUNCTIONS)],
    )
    found = dict(cr.fetchall())
    return all(found.get(name) == body for name, (_a, _r, body) in FUNCTIONS.items())


def ensure_functions(cr):
    """Create the functions of ``FUNCTIONS``, or replace those that differ from their
    declaration (an arguments' or result's change included)."""
    cr.execute("SELECT pg_advisory_xact_lock(%s)", [_FUNCTIONS_LOCK])
    if functions_current(cr):
        return
    for name, (arguments, result, body) in FUNCTIONS.items():
        cr.execute(f"DROP FUNCTION IF EXISTS {name}")
        cr.execute(
            f"CREATE FUNCTION {name}({arguments}) RETURNS {result} LANGUAGE plpgsql"
            f" AS $cgsms${body}$cgsms$"
        )


def drop_functions(cr):
    """Drop the functions of ``FUNCTIONS`` (uninstall)."""
    for name in FUNCTIONS:
        cr.execute(f"DROP FUNCTION IF EXISTS {name}")


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
    written(model, [row[0] for row in rows], [*columns, *constants])


def written(model, ids, fnames):
    """Rows ``ids`` of ``model``'s table were written by SQL (``fnames``, with ``write_date``
    and ``write_uid``): their cache is invalidated and their dependents are told, as an ORM
    write would."""
    changed = model.browse(ids)
    fnames = [*fnames, "write_date", "write_uid"]
    changed.invalidate_recordset(fnames)
    changed.modified(fnames)
