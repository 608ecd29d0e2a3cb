"""SQL judged by PostgreSQL's own parser (pglast wraps libpg_query): read only when every statement provably reads.

`judge_sql(text)` parses the whole text (values in place) and walks every node of every statement. It is read only
when each statement is a SELECT / VALUES / TABLE / SHOW / EXPLAIN with no SELECT INTO, no locking clause, no
data-modifying CTE, and every function it calls, anywhere in the tree, is on READ_FUNCTIONS. Everything else fails
closed: a known side-effect function or a statement that is not a read is destructive, an unknown function or text
the parser cannot read is write, and transaction control is destructive and refused in any step (the runner's one
transaction is the only transaction). Names are the parser's: `U&"pg_\\0074erminate_backend"` is
pg_terminate_backend, `"PG_RELOAD_CONF"` a distinct (unknown) name, and `pg_catalog.f` is f while `other.f` is
unknown. What the judge cannot see: the functions a view, an operator, a cast or a trigger calls.

`split_statements(text)` cuts the text at its top-level semicolons with PostgreSQL's scanner, each statement as
written; `transaction_control(statement)` names the transaction control a statement is, for the runner to refuse.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from pglast import ast, parser

from console.models import Risk
from console.redact import make_safe


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


READ_FUNCTIONS = _words(
    """count sum avg max min string_agg array_agg json_agg jsonb_agg json_object_agg jsonb_object_agg bool_and bool_or
    every stddev stddev_pop stddev_samp variance var_pop var_samp percentile_cont percentile_disc mode bit_and bit_or
    row_number rank dense_rank percent_rank cume_dist ntile lag lead first_value last_value nth_value
    abs ceil ceiling floor round trunc sign sqrt cbrt power pow exp ln log log10 mod div width_bucket pi degrees
    radians random num_nulls num_nonnulls
    length char_length character_length octet_length bit_length lower upper initcap left right substring substr
    position strpos replace translate btrim ltrim rtrim lpad rpad split_part concat concat_ws format repeat
    reverse regexp_replace regexp_match regexp_matches regexp_split_to_array regexp_split_to_table regexp_count
    regexp_like regexp_substr starts_with md5 encode decode quote_ident quote_literal quote_nullable to_hex chr ascii
    string_to_array array_to_string overlay normalize
    now clock_timestamp statement_timestamp transaction_timestamp timeofday age date_trunc date_part extract date_bin
    justify_days justify_hours justify_interval make_interval make_date make_time make_timestamp make_timestamptz
    to_timestamp to_date to_char to_number isfinite timezone
    array_length array_upper array_lower cardinality unnest generate_series generate_subscripts array_position
    array_positions array_remove array_append array_prepend array_cat array_dims array_ndims
    json_build_object jsonb_build_object json_build_array jsonb_build_array to_json to_jsonb row_to_json array_to_json
    json_each jsonb_each json_each_text jsonb_each_text json_array_elements jsonb_array_elements
    json_array_elements_text jsonb_array_elements_text jsonb_pretty json_extract_path jsonb_extract_path
    json_extract_path_text jsonb_extract_path_text json_object_keys jsonb_object_keys json_array_length
    jsonb_array_length json_typeof jsonb_typeof jsonb_path_query jsonb_path_exists jsonb_strip_nulls
    text int2 int4 int8 numeric float4 float8 bool date timestamptz
    format_type pg_typeof to_regclass to_regproc to_regtype to_regrole to_regnamespace obj_description
    col_description shobj_description pg_describe_object pg_identify_object pg_size_pretty pg_size_bytes
    current_database current_schema current_schemas current_setting version inet_client_addr inet_client_port
    inet_server_addr inet_server_port pg_backend_pid pg_postmaster_start_time pg_conf_load_time pg_is_in_recovery
    pg_is_wal_replay_paused pg_last_xact_replay_timestamp pg_last_wal_receive_lsn pg_last_wal_replay_lsn
    pg_current_wal_lsn pg_current_wal_flush_lsn pg_current_wal_insert_lsn pg_wal_lsn_diff pg_walfile_name
    pg_walfile_name_offset pg_current_logfile pg_blocking_pids pg_safe_snapshot_blocking_pids pg_jit_available
    pg_trigger_depth pg_my_temp_schema pg_is_other_temp_schema pg_listening_channels pg_notification_queue_usage
    pg_control_checkpoint pg_control_system pg_control_recovery pg_control_init pg_tablespace_location
    pg_relation_filepath pg_relation_filenode pg_filenode_relation pg_has_role pg_table_is_visible
    pg_type_is_visible pg_function_is_visible pg_column_size pg_database_size pg_relation_size
    pg_total_relation_size pg_table_size pg_indexes_size pg_tablespace_size pg_partition_tree pg_partition_root
    pg_partition_ancestors pg_encoding_to_char pg_char_to_encoding pg_lock_status txid_current_if_assigned
    pg_current_xact_id_if_assigned txid_current_snapshot pg_current_snapshot pg_snapshot_xmin pg_snapshot_xmax
    txid_snapshot_xmin txid_snapshot_xmax txid_status pg_xact_status pg_xact_commit_timestamp
    pg_last_committed_xact mxid_age pg_stat_statements pg_stat_statements_info pg_sleep pg_sleep_for pg_sleep_until"""
)
READ_PREFIXES = ("pg_stat_get_", "pg_get_")  # the statistics and catalog readers (checked against pg_proc)
PRIVILEGE_CHECK = re.compile(r"has_\w+_privilege")
SIDE_EFFECTS = _words(
    """pg_terminate_backend pg_cancel_backend pg_reload_conf pg_rotate_logfile pg_rotate_logfile_old pg_switch_wal
    pg_switch_xlog pg_promote pg_wal_replay_pause pg_wal_replay_resume pg_xlog_replay_pause pg_xlog_replay_resume
    pg_backup_start pg_backup_stop pg_start_backup pg_stop_backup pg_log_backend_memory_contexts
    pg_log_standby_snapshot pg_stat_statements_reset pg_stat_force_next_flush pg_drop_replication_slot
    pg_replication_slot_advance pg_sync_replication_slots set_config nextval setval txid_current pg_current_xact_id
    pg_notify pg_export_snapshot pg_import_system_collations pg_file_write pg_file_rename pg_file_unlink
    pg_file_sync pg_prewarm pg_truncate_visibility_map loread lowrite"""
)
SIDE_EFFECT_PREFIXES = (
    *("lo_", "pg_advisory_", "pg_try_advisory_", "pg_stat_reset", "pg_replication_origin_"),
    *("pg_create_", "pg_copy_", "pg_logical_"),
)
RUNS_SQL = _words("query_to_xml query_to_xml_and_xmlschema query_to_xmlschema cursor_to_xml cursor_to_xmlschema")
SERVER_FILES = _words("pg_read_file pg_read_binary_file pg_read_file_old pg_stat_file")
READ_STATEMENTS = (ast.SelectStmt, ast.VariableShowStmt, ast.ExplainStmt)  # EXPLAIN: judged by what it explains
TRANSACTION_SETTINGS = ("TRANSACTION", "SESSION CHARACTERISTICS", "TRANSACTION SNAPSHOT")
_CONTROL_TOKENS = {"BEGIN_P", "START", "COMMIT", "END_P", "ROLLBACK", "ABORT_P", "SAVEPOINT", "RELEASE", "PREPARE"}
_WRITES = re.compile(
    r"Create|Alter|Drop|Grant|Insert|Update|Delete|Merge|Truncate|Copy|Vacuum|Reindex|Cluster|Comment"
    r"|Refresh|Rename|Index|View|Rule|Import|SecLabel"
)
_KIND_NAMES = {
    "CreateStmt": "CREATE TABLE",
    "IndexStmt": "CREATE INDEX",
    "ViewStmt": "CREATE VIEW",
    "CreatedbStmt": "CREATE DATABASE",
    "DropdbStmt": "DROP DATABASE",
    "CreateTableAsStmt": "CREATE TABLE AS",
    "CreateSeqStmt": "CREATE SEQUENCE",
    "CreateTrigStmt": "CREATE TRIGGER",
    "RuleStmt": "CREATE RULE",
    "RenameStmt": "ALTER … RENAME",
    "CheckPointStmt": "CHECKPOINT",
    "RefreshMatViewStmt": "REFRESH MATERIALIZED VIEW",
}
_COMMENTS = ("SQL_COMMENT", "C_COMMENT")
PSQL_HINT = " (a psql variable such as :'name' is not SQL: write a placeholder such as <name>)"
TRANSACTION_CONTROL = "is transaction control, refused in a runbook step (the runner's one transaction is the only one)"
_RANKS = {Risk.READ: 0, Risk.WRITE: 1, Risk.DESTRUCTIVE: 2}
_CONTROL_RANK = 3  # above any other destructive reason: the step is refused, not only confirmed

Verdict = tuple[int, Risk, str]


class SqlTextError(ValueError):
    """SQL text that cannot be cut into whole statements; str() is one line saying where."""


def judge_sql(text: str) -> tuple[Risk, str]:
    """(risk, reason) of an SQL text holding one or more statements, values in place."""
    try:
        statements = _parse(text)
    except parser.ParseError as exc:
        return Risk.WRITE, f"write: cannot parse: {parse_message(exc, text)}"
    if not statements:
        return Risk.WRITE, "write: holds no statement to judge"
    worst: Verdict = (0, Risk.READ, "read: only reading statements")
    for statement in statements:
        for verdict in _verdicts(statement):
            worst = max(worst, verdict, key=lambda v: v[0])
    return worst[1], worst[2]


def split_statements(text: str) -> list[str]:
    """The statements of a text as written (comments kept), cut by PostgreSQL's scanner at top-level semicolons.

    The scanner leaves out a piece without a keyword (`'x';`) or with an unclosed parenthesis: SqlTextError then,
    rather than a statement silently dropped.
    """
    try:
        slices = parser.split(text, with_parser=False, only_slices=True)
        tokens = parser.scan(text)
    except parser.ParseError as exc:
        raise SqlTextError(parse_message(exc, text)) from None
    for token in tokens:
        if token.name == "ASCII_59" or token.name in _COMMENTS or any(s.start <= token.start < s.stop for s in slices):
            continue
        rest = text[token.start :].split(";", 1)[0]
        shown = make_safe(" ".join(rest.split()))
        shown = shown if len(shown) <= 40 else shown[:39] + "…"
        raise SqlTextError(
            f"`{shown}` at line {_line(text, token.start)} is not a whole statement (an unclosed parenthesis, "
            "or no SQL keyword)"
        )
    return [text[s] for s in slices]


def transaction_control(statement: str) -> str | None:
    """The transaction control a statement is (`COMMIT`, `SET TRANSACTION`...), else None.

    Text the parser cannot read (a newer server's syntax) is refused when its first word starts transaction control.
    """
    try:
        statements = _parse(statement)
    except parser.ParseError:
        return _control_word(statement)
    for node in statements:
        if _is_transaction_control(node):
            return _kind(node)
    return None


def parse_message(exc: parser.ParseError, text: str) -> str:
    """The parser's message in one line, with the line it points at."""
    message = make_safe(" ".join(str(exc.args[0]).split()))
    message = message if len(message) <= 160 else message[:159] + "…"
    index = exc.args[1] if len(exc.args) > 1 else None
    if index is None:
        return message
    hint = PSQL_HINT if text[index : index + 1] == ":" and text[index + 1 : index + 2] != ":" else ""
    return f"{message} at line {_line(text, index)}{hint}"


def _line(text: str, index: int) -> int:
    return text.count("\n", 0, index) + 1


def _parse(text: str) -> list[ast.Node]:
    """The statement nodes of a text (pglast types a RawStmt's `stmt` optional: the grammar always fills it)."""
    return [raw.stmt for raw in parser.parse_sql(text) if raw.stmt is not None]


def _walk(node: Any) -> Iterator[ast.Node]:
    """Every node under `node`, itself included, depth first."""
    if isinstance(node, ast.Node):
        yield node
        for name in node:
            yield from _walk(getattr(node, name))
    elif isinstance(node, tuple | list):
        for item in node:
            yield from _walk(item)


def _verdicts(stmt: ast.Node) -> Iterator[Verdict]:
    """What each statement node (nested ones too: CTEs, EXPLAIN) and each function call in the tree says."""
    for node in _walk(stmt):
        if isinstance(node, ast.FuncCall):
            yield _function(node)
        elif type(node).__name__.endswith("Stmt"):
            yield _statement(node)


def _statement(stmt: ast.Node) -> Verdict:
    if _is_transaction_control(stmt):
        return _CONTROL_RANK, Risk.DESTRUCTIVE, f"destructive: `{_kind(stmt)}` {TRANSACTION_CONTROL}"
    if isinstance(stmt, ast.SelectStmt) and stmt.intoClause is not None:
        return 2, Risk.DESTRUCTIVE, "destructive: `SELECT INTO` creates a table"
    if isinstance(stmt, ast.SelectStmt) and stmt.lockingClause:
        strength = stmt.lockingClause[0].strength.name.removeprefix("LCS_FOR")
        words = {"KEYSHARE": "KEY SHARE", "NOKEYUPDATE": "NO KEY UPDATE"}.get(strength, strength)
        return 2, Risk.DESTRUCTIVE, f"destructive: `FOR {words}` locks rows"
    if isinstance(stmt, READ_STATEMENTS):
        return 0, Risk.READ, ""
    if isinstance(stmt, ast.VacuumStmt) and not any(o.defname == "full" for o in stmt.options or ()):
        # statistics and reclaimed space: no row changes and no exclusive lock (FULL rewrites the table under one)
        does = "reclaims space and updates statistics" if stmt.is_vacuumcmd else "updates the planner's statistics"
        return 1, Risk.WRITE, f"write: `{_kind(stmt)}` {does}, changing no row"
    kind = _kind(stmt)
    does = "writes to the database" if _WRITES.match(type(stmt).__name__) else "is not a reading statement"
    return 2, Risk.DESTRUCTIVE, f"destructive: `{kind}` {does}"


def _is_transaction_control(stmt: ast.Node) -> bool:
    return isinstance(stmt, ast.TransactionStmt) or (
        isinstance(stmt, ast.VariableSetStmt) and stmt.name in TRANSACTION_SETTINGS
    )


def _kind(stmt: ast.Node) -> str:
    """The statement's kind in SQL words: `ALTER ROLE`, `ANALYZE`, `ROLLBACK TO`..."""
    if isinstance(stmt, ast.TransactionStmt) and stmt.kind is not None:
        kind = stmt.kind.name.removeprefix("TRANS_STMT_").replace("_", " ")
        return {"START": "START TRANSACTION", "PREPARE": "PREPARE TRANSACTION"}.get(kind, kind)
    if isinstance(stmt, ast.VariableSetStmt):
        if stmt.name in TRANSACTION_SETTINGS:
            return f"SET {stmt.name}"
        return "RESET" if stmt.kind is not None and "RESET" in stmt.kind.name else "SET"
    if isinstance(stmt, ast.VacuumStmt):
        return "VACUUM" if stmt.is_vacuumcmd else "ANALYZE"
    if isinstance(stmt, ast.GrantStmt | ast.GrantRoleStmt):
        return "GRANT" if stmt.is_grant else "REVOKE"
    name = type(stmt).__name__
    return _KIND_NAMES.get(name) or " ".join(re.findall(r"[A-Z][a-z]*", name.removesuffix("Stmt"))).upper()


def _function(call: ast.FuncCall) -> Verdict:
    names = [part.sval for part in call.funcname or ()]
    shown = make_safe(".".join(names))
    if not names or len(names) > 2 or (len(names) == 2 and names[0] != "pg_catalog"):
        return 1, Risk.WRITE, f"write: calls an unknown function {shown}(): not judged a read"
    name = names[-1]
    if name in SERVER_FILES or name.startswith(("pg_ls_", "pg_read_")):
        return 2, Risk.DESTRUCTIVE, f"destructive: calls {shown}(), which puts the server's files on the screen"
    if name in RUNS_SQL or name.startswith("dblink"):
        return 2, Risk.DESTRUCTIVE, f"destructive: calls {shown}(), which runs the SQL text it is given"
    if name in SIDE_EFFECTS or name.startswith(SIDE_EFFECT_PREFIXES):
        return 2, Risk.DESTRUCTIVE, f"destructive: calls {shown}()"
    if name in READ_FUNCTIONS or name.startswith(READ_PREFIXES) or PRIVILEGE_CHECK.fullmatch(name):
        return 0, Risk.READ, ""
    return 1, Risk.WRITE, f"write: calls an unknown function {shown}(): not judged a read"


def _control_word(statement: str) -> str | None:
    """The first words of unparsable text when they start transaction control (the scanner still reads it)."""
    try:
        words = [t for t in parser.scan(statement) if t.name not in _COMMENTS][:2]
    except parser.ParseError:
        return None  # the server's scanner, the same, refuses it before anything runs
    shown = [statement[t.start : t.end + 1].upper() for t in words]
    if words and words[0].name in _CONTROL_TOKENS:
        return shown[0]
    if len(words) == 2 and words[0].name == "SET" and words[1].name in ("TRANSACTION", "SESSION"):
        return " ".join(shown)
    return None
