# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""PostgreSQL SQL through pglast: the parser, statement splitting, names, quoting and snapshot keys."""

from __future__ import annotations

from ansible_collections.bundle.stack.plugins.module_utils.migrate.reverse import UNKNOWN, Ref, Statement, existed

try:
    from pglast import ast, enums, parse_plpgsql, parse_sql
    from pglast.parser import ParseError
    from pglast.stream import RawStream, maybe_double_quote_name
except ImportError:  # reported by the modules with missing_required_lib
    ast = enums = parse_sql = parse_plpgsql = RawStream = maybe_double_quote_name = None
    ParseError = Exception
    HAS_PGLAST = False
else:
    HAS_PGLAST = True


# --- names -------------------------------------------------------------------

def qi(name):
    """An identifier, double-quoted only when PostgreSQL needs it."""
    return maybe_double_quote_name(name)


def qn(*parts):
    return '.'.join(qi(p) for p in parts if p is not None)


def literal(value):
    if value is None:
        return 'NULL'
    return "'" + str(value).replace("'", "''") + "'"


def deparse(node):
    return RawStream()(node)


def strings(nodes):
    """A tuple of String nodes (a qualified name) as a tuple of str."""
    if nodes is None:
        return ()
    if isinstance(nodes, ast.String):
        return (nodes.sval,)
    return tuple(n.sval for n in nodes)


def rv_parts(rangevar):
    return tuple(p for p in (rangevar.catalogname, rangevar.schemaname, rangevar.relname) if p)[-2:]


def typename_parts(typename):
    return strings(typename.names)


def rel_ref(parts):
    return Ref('rel', tuple(parts))


def rv_ref(rangevar):
    return rel_ref(rv_parts(rangevar))


def func_args_text(objwithargs):
    if objwithargs.args_unspecified:
        return None
    return ', '.join(deparse(t) for t in objwithargs.objargs or ())


def func_ref(objwithargs):
    return Ref('func', strings(objwithargs.objname), func_args_text(objwithargs))


def in_arg_types(parameters):
    """Types of a CREATE FUNCTION's input arguments, which identify it."""
    types = []
    for param in parameters or ():
        mode = enums.FunctionParameterMode(param.mode)
        if mode in (enums.FunctionParameterMode.FUNC_PARAM_OUT, enums.FunctionParameterMode.FUNC_PARAM_TABLE):
            continue
        types.append(deparse(param.argType))
    return ', '.join(types)


def node_name(node):
    return type(node).__name__


# --- splitting -----------------------------------------------------------------

def split_statements(sql):
    """The statements of sql with their parse trees, transaction control left out.

    A migration runs in the transaction the module opens, so BEGIN/COMMIT in a
    file (common in golang-migrate sets) are skipped rather than obeyed.
    """
    statements = []
    for raw in parse_sql(sql):
        if isinstance(raw.stmt, ast.TransactionStmt):
            continue
        length = raw.stmt_len or len(sql) - raw.stmt_location
        text = sql[raw.stmt_location:raw.stmt_location + length].strip()
        statements.append(Statement(len(statements), text, raw.stmt))
    return statements


def non_transactional(node):
    """Why a statement cannot run inside a transaction block, or None."""
    if isinstance(node, ast.IndexStmt) and node.concurrent:
        return 'CREATE INDEX CONCURRENTLY'
    if isinstance(node, ast.DropStmt) and node.concurrent:
        return 'DROP INDEX CONCURRENTLY'
    if isinstance(node, ast.ReindexStmt) and any(
            getattr(p, 'defname', None) == 'concurrently' for p in node.params or ()):
        return 'REINDEX CONCURRENTLY'
    if isinstance(node, (ast.VacuumStmt, ast.CreatedbStmt, ast.DropdbStmt, ast.CreateTableSpaceStmt,
                         ast.DropTableSpaceStmt, ast.AlterSystemStmt)):
        return node_name(node)
    if isinstance(node, ast.AlterTableStmt) and any(
            c.subtype == enums.AlterTableType.AT_DetachPartition and c.def_.concurrent for c in node.cmds):
        return 'DETACH PARTITION CONCURRENTLY'
    return None


def split_key(key):
    """'rel:"My Schema".users' -> ('My Schema', 'users')."""
    body = key.split(':', 1)[1]
    parts, current, quoted, i = [], '', False, 0
    while i < len(body):
        char = body[i]
        if quoted:
            if char == '"' and body[i + 1:i + 2] == '"':
                current += '"'
                i += 1
            elif char == '"':
                quoted = False
            else:
                current += char
        elif char == '"':
            quoted = True
        elif char == '.':
            parts.append(current)
            current = ''
        else:
            current += char
        i += 1
    parts.append(current)
    return (parts[0], parts[1]) if len(parts) > 1 else (None, parts[0])


def make_key(kind, schema, name):
    return f'{kind}:{qn(schema, name)}' if schema is not None else f'{kind}:{qi(name)}'


def absent(desc):
    return desc is None


def column_of(desc, name):
    if not existed(desc):
        return UNKNOWN
    for column in desc.get('columns', []):
        if column['name'] == name:
            return column
    return None
