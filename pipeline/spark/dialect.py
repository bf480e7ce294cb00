"""The DuckDB SQL of ``sql/staging`` and ``sql/marts``, run on Spark SQL: one definition, two engines.

The SQL files are written once, in DuckDB's dialect (the default engine). :func:`to_spark` parses a file
with sqlglot, rewrites the few DuckDB-only constructs with the named per-engine macros below, and prints
Spark SQL with sqlglot's Spark generator. No metric is written twice: a macro translates a *construct*
(a time lookup, a series, an ordered list), never a metric.

The macros, each named after the DuckDB piece it replaces (the SQL files mark those pieces with a
``-- DuckDB-only`` comment):

- ``asof_lookup``: ``asof [left] join T as c on c.k = t.k and t.x >= c.lower`` (the business calendar)
  becomes a range join against T's ``__asof`` view (:data:`ASOF_TABLES`): ``lower <= x < next
  lower``, and for the calendar also ``c._asof_day = to_date(x)`` (one row per day an interval covers), so
  the join is an equi-join on (schedule, day); the view is small and broadcast.
- ``duration_bucket``: the macro ``staging.duration_bucket_upper(x)`` becomes the CASE over the duration buckets'
  edges that DuckDB's macro holds (``duration_bucket_case`` in pipeline/model/marts.py, the edges' one definition).
- ``epoch_seconds``: ``epoch(ts)`` becomes ``unix_micros(ts) / 1e6`` (sqlglot would write
  ``unix_timestamp``, which drops the microseconds).
- ``local_time``: ``timezone(zone, ts)`` becomes ``from_utc_timestamp(ts, zone)`` (the session is in UTC).
- ``days_interval``: ``to_days(n)`` becomes ``make_dt_interval(n)``.
- ``series``: ``range(a, b[, step])`` in ``from`` (end excluded) becomes
  ``lateral (select explode(if(a < b, sequence(a, b - step, step), array())))``.
- ``ordered_list``: ``list(x order by k1 desc, k2)`` becomes
  ``transform(array_sort(collect_list(named_struct(...)), comparator), e -> e.v)`` (sqlglot would drop the
  order; nulls are skipped, as sql/ never lists one).
- ``list_slice``: ``arr[a:b]`` (1-based, inclusive) becomes ``slice(arr, a, b - a + 1)``.
- ``double_literal``: ``1.0`` becomes ``cast(1.0 as double)``: DuckDB's arithmetic turns such decimals into
  doubles, Spark's would keep decimals rounded at scale 6.
- ``view_name``: ``schema.table`` becomes the temp view ``schema__table``.
- ``table_macro``: ``create macro m(p) as table <query>`` (a staging file defining one query for the whole
  table and for the refresh scope) has no Spark form; :func:`statements` expands each call ``m(arg)`` into
  the macro's query with ``p`` replaced by ``arg``, as a subquery, so each view is one plain query; a
  relation passed by name (``m('raw.interactions')``, read in the macro with ``query_table(p)``) becomes
  that relation.

Everything else sql/ uses (``group by all``, ``max_by … filter``, ``count(case …)``, windows,
``interval 7 day``, ``split_part``, ``exists`` in a select list, ``bool_or``, ``var_samp``) is in the subset
both engines run and goes through sqlglot's generator. :func:`to_spark` raises :class:`UntranslatableSql`
on the DuckDB constructs known to have no faithful translation here (an ASOF join on another table,
``list()`` without ``order by``, ``generate_series``, a few DuckDB-only functions) rather than emit SQL
that would run and differ; the parity test (tests/test_spark.py) is what proves the rest.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import sqlglot
from sqlglot import exp

from ..model.marts import duration_bucket_case


class UntranslatableSql(ValueError):
    """A DuckDB construct in sql/ that has no Spark macro here."""


@dataclass(frozen=True)
class AsofTable:
    """An interval table the DuckDB SQL reads with an ASOF join: ``on`` is the lower edge; ``by`` the
    equality key (or None); ``day_bucketed`` when the Spark view carries ``_asof_day`` (one row per day
    an interval covers) so the range join is an equi-join on (key, day) and stays cheap."""

    on: str
    by: str | None = None
    day_bucketed: bool = False


# The interval tables the ASOF joins of sql/ read; the Spark engine builds their ``__asof`` views
# (``_asof_next``: the next lower edge; ``_asof_day``: the day bucket) in pipeline/spark/marts.py.
ASOF_TABLES = {
    "staging.business_calendar": AsofTable(on="open_at", by="schedule", day_bucketed=True),
}


def view_name(table: exp.Table) -> str:
    """``staging.stg_interactions`` -> ``staging__stg_interactions`` (Spark temp views have no schema)."""
    return f"{table.db}__{table.name}" if table.db else table.name


def _spark(sql: str) -> exp.Expression:
    return sqlglot.parse_one(sql, read="spark")


def _asof_lookup(join: exp.Join) -> None:
    table = join.this
    if not isinstance(table, exp.Table) or f"{table.db}.{table.name}" not in ASOF_TABLES:
        raise UntranslatableSql(f"ASOF join on {table.sql('duckdb')}: no interval table for it in ASOF_TABLES")
    spec = ASOF_TABLES[f"{table.db}.{table.name}"]
    alias = table.alias_or_name
    lower = None
    for gte in join.args["on"].find_all(exp.GTE):
        right = gte.expression
        if isinstance(right, exp.Column) and right.table == alias and right.name == spec.on:
            lower = gte.this
    if lower is None:
        raise UntranslatableSql(f"ASOF join on {table.name}: expected '<instant> >= {alias}.{spec.on}'")
    x = lower.sql("spark")
    extra = f"({alias}._asof_next is null or {x} < {alias}._asof_next)"
    if spec.day_bucketed:
        extra = f"{alias}._asof_day = to_date({x}) and {extra}"
    join.set("on", exp.and_(join.args["on"], _spark(f"select 1 where {extra}").args["where"].this))
    join.set("method", None)
    table.set("this", exp.to_identifier(f"{table.name}__asof"))


def _series(table: exp.Table) -> exp.Expression:
    gs = table.this
    start, end, step = gs.args["start"], gs.args["end"], gs.args.get("step")
    if not gs.args.get("is_end_exclusive"):
        raise UntranslatableSql("generate_series (end included) is not used by sql/: only range()")
    a, b = start.sql("spark"), end.sql("spark")
    s = step.sql("spark") if step is not None else "1"
    alias = table.alias_or_name or "range"
    col = (table.args["alias"].columns[0].name if table.args.get("alias") and table.args["alias"].columns
           else "range")
    sub = _spark(f"select * from t, lateral (select explode(if(({a}) < ({b}), sequence({a}, ({b}) - {s}, {s}), "
                 f"array())) as {col}) as {alias}")
    return sub.args["joins"][0].this


def _ordered_list(agg: exp.ArrayAgg) -> exp.Expression:
    order = agg.this
    if not isinstance(order, exp.Order):
        raise UntranslatableSql("list() without order by: its order is not defined on either engine")
    keys = order.expressions
    fields = ", ".join([f"'v', {order.this.sql('spark')}"] + [f"'k{i}', {k.this.sql('spark')}"
                                                               for i, k in enumerate(keys)])
    cmp = "0"
    for i, k in reversed(list(enumerate(keys))):
        lo, hi = ("1", "-1") if k.args.get("desc") else ("-1", "1")
        cmp = f"case when l.k{i} < r.k{i} then {lo} when l.k{i} > r.k{i} then {hi} else {cmp} end"
    return _spark(f"transform(array_sort(collect_list(named_struct({fields})), (l, r) -> {cmp}), e -> e.v)")


def _list_slice(bracket: exp.Bracket) -> exp.Expression | None:
    if len(bracket.expressions) != 1 or not isinstance(bracket.expressions[0], exp.Slice):
        return None
    sl = bracket.expressions[0]
    a, b = sl.this.sql("spark"), sl.expression.sql("spark")
    return exp.Anonymous(this="slice", expressions=[bracket.this, _spark(a), _spark(f"({b}) - ({a}) + 1")])


def _rewrite(node: exp.Expression) -> exp.Expression:
    if (isinstance(node, exp.Dot) and isinstance(node.expression, exp.Anonymous)  # duration_bucket
            and f"{node.this.name}.{node.expression.name}".lower() == "staging.duration_bucket_upper"):
        (seconds,) = node.expression.expressions  # the new node is not visited again: its argument is rewritten here
        return _spark(duration_bucket_case(f"({seconds.transform(_rewrite).sql('spark')})"))
    if isinstance(node, exp.Table):
        if isinstance(node.this, exp.GenerateSeries):
            return _series(node)
        if node.db:
            node.set("this", exp.to_identifier(view_name(node)))
            node.set("db", None)
        return node
    if isinstance(node, exp.TimeToUnix):  # epoch_seconds
        return _spark(f"unix_micros({node.this.sql('spark')}) / 1e6")
    if isinstance(node, exp.Anonymous) and node.name.lower() == "timezone":  # local_time
        zone, ts = node.expressions
        return exp.Anonymous(this="from_utc_timestamp", expressions=[ts, zone])
    if isinstance(node, exp.ToDays):  # days_interval
        return exp.Anonymous(this="make_dt_interval", expressions=[node.this])
    if isinstance(node, exp.Literal) and not node.is_string and "." in node.this:  # double_literal
        return exp.cast(node.copy(), "double")
    if isinstance(node, exp.Anonymous) and node.name.lower() in _DUCKDB_ONLY:
        raise UntranslatableSql(f"{node.name}() is DuckDB-only and has no Spark macro in pipeline/spark/dialect.py")
    return node


# DuckDB functions sql/ must not use without a macro here (checked so a new one fails loudly, not silently)
_DUCKDB_ONLY = {"epoch_ms", "epoch_us", "time_bucket", "list_sort", "list_distinct", "strftime", "strptime"}


def to_spark(sql: str) -> tuple[str | None, str]:
    """(name of the view or table the statement creates, or None; the Spark SQL of its query)."""
    tree = sqlglot.parse_one(sql, read="duckdb")
    target = None
    if isinstance(tree, exp.Create):
        target = view_name(tree.this)
        tree = tree.expression
    for join in list(tree.find_all(exp.Join)):
        if (join.args.get("method") or "").upper() == "ASOF":
            _asof_lookup(join)
    # innermost first: an ordered list inside a slice, then the slice, then everything else
    tree = tree.transform(lambda n: _ordered_list(n) if isinstance(n, exp.ArrayAgg) else n, copy=False)
    tree = tree.transform(lambda n: (_list_slice(n) or n) if isinstance(n, exp.Bracket) else n, copy=False)
    tree = tree.transform(_rewrite, copy=False)
    return target, tree.sql("spark", comments=False)


_COMMENT = re.compile(r"--[^\n]*")
_QUERY_TABLE = re.compile(r"\bquery_table\s*\(\s*'([\w.]+)'\s*\)", re.I)
_TABLE_MACRO = re.compile(r"^\s*create\s+(?:or\s+replace\s+)?macro\s+([\w.]+)\s*\(([^)]*)\)\s+as\s+table\s+(.*)$",
                          re.S | re.I)


def statements(text: str, macros: dict | None = None) -> list[str]:
    """The statements of one sql/ file, DuckDB table macros expanded (the ``table_macro`` macro): the
    ``create macro … as table`` statements are dropped, and each call of one in a later statement becomes the
    macro's query, its parameters replaced by the call's arguments, as a subquery. The files hold no ``;`` or
    ``--`` inside a string (comments are removed before the split). Pass one ``macros`` dict to the calls
    for successive files: a macro serves the files after its own."""
    macros = {} if macros is None else macros
    out = []
    for stmt in (x.strip() for x in _COMMENT.sub("", text).split(";")):
        if not stmt:
            continue
        m = _TABLE_MACRO.match(stmt)
        if m:
            params = [x.strip() for x in m.group(2).split(",") if x.strip()]
            macros[m.group(1).lower()] = (params, _expand(m.group(3), macros))
        else:
            out.append(_expand(stmt, macros))
    return out


def _expand(sql: str, macros: dict[str, tuple[list[str], str]]) -> str:
    for name, (params, body) in macros.items():
        def call(m, params=params, body=body, name=name):
            args = [x.strip() for x in m.group(1).split(",") if x.strip()]
            if len(args) != len(params):
                raise UntranslatableSql(f"{name}: {len(args)} arguments for {len(params)} parameters")
            for p, a in zip(params, args, strict=True):
                body = re.sub(rf"\b{re.escape(p)}\b", a, body)
            body = _QUERY_TABLE.sub(r"\1", body)  # query_table('raw.interactions'): the relation it names
            return f"({body}) as {name.rsplit('.', 1)[-1]}"
        sql = re.sub(rf"\b{re.escape(name)}\s*\(([^)]*)\)(?:\s+as\s+\w+)?", call, sql, flags=re.I)
    return sql
