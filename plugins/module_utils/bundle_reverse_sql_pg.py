# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Reverse SQL for PostgreSQL migrations, generated from PostgreSQL's own parser.

The up SQL is parsed with pglast (libpg_query, the server's grammar); every
statement is reversed from its parse tree, never from its text. Values that
the up SQL does not carry (the old default of a column, the old type, the old
comment, the definition of a dropped index or view) come from the snapshot
the schema_migrate module took from the catalogs right before and right after
each statement ran. The same refs_of() tells the apply side which objects to
snapshot and the reverse side where to look them up.

Entry points:
    split_statements(sql) -> [Statement]
    refs_of(node) -> [Ref]
    reverse_migration(up_sql, snapshot=None, force=False) -> ReversePlan

A statement whose effect cannot be undone because it destroys data (DROP
TABLE, DROP COLUMN, a narrowing type change, DELETE, TRUNCATE, UPDATE of
existing values) is a finding of kind 'irreversible'; one that has no reverse
rule (a DO block, ALTER TYPE ... ADD VALUE) is 'unsupported'. With force=True,
irreversible statements get the reverse that restores the structure (an empty
table, a column without its values) and stay listed as findings.
"""

from __future__ import annotations

import copy

from ansible.module_utils.bundle_migrate import (
    UNKNOWN,
    Ref,
    Statement,
    existed,
    irreversible,
    reverse_statements,
    unique_refs,
    unsupported,
)
from ansible.module_utils.bundle_migrate import Reverser as BaseReverser
from ansible.module_utils.bundle_migrate import StatementState as BaseStatementState

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

# Lossless conversions between built-in types: (from, to) by catalog type name.
# A type change outside these (or with a USING expression other than a plain
# cast) counts as narrowing: values may have been rounded or cut.
_INT_DIGITS = {'int2': 5, 'int4': 10, 'int8': 19}
_INT_ORDER = ['int2', 'int4', 'int8']
_TEXTUAL = {'text', 'varchar', 'bpchar'}
_TIME_ORDER = {'date': 0, 'timestamp': 1, 'timestamptz': 2}


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


# --- refs: what each statement touches ---------------------------------------------

DROP_REF_KINDS = {
    'OBJECT_TABLE': 'rel', 'OBJECT_VIEW': 'rel', 'OBJECT_MATVIEW': 'rel', 'OBJECT_INDEX': 'rel',
    'OBJECT_SEQUENCE': 'rel', 'OBJECT_FOREIGN_TABLE': 'rel', 'OBJECT_TYPE': 'type', 'OBJECT_DOMAIN': 'type',
    'OBJECT_SCHEMA': 'schema', 'OBJECT_EXTENSION': 'ext', 'OBJECT_FUNCTION': 'func', 'OBJECT_PROCEDURE': 'func',
    'OBJECT_ROUTINE': 'func', 'OBJECT_AGGREGATE': 'func', 'OBJECT_EVENT_TRIGGER': 'evttrig',
}
# Objects named by table plus a name of their own.
TABLE_CHILD_KINDS = {'OBJECT_TRIGGER', 'OBJECT_POLICY', 'OBJECT_RULE', 'OBJECT_TABCONSTRAINT', 'OBJECT_COLUMN'}


def object_refs(objtype, obj):
    """Refs of an object as named in DROP, COMMENT, ALTER ... OWNER and friends."""
    name = enums.ObjectType(objtype).name
    if name in TABLE_CHILD_KINDS:
        return [rel_ref(strings(obj)[:-1])]
    if name in ('OBJECT_TYPE', 'OBJECT_DOMAIN'):
        parts = typename_parts(obj) if isinstance(obj, ast.TypeName) else strings(obj)
        return [Ref('type', parts)]
    if name == 'OBJECT_DOMCONSTRAINT':
        return [Ref('type', typename_parts(obj[0]) if isinstance(obj[0], ast.TypeName) else strings(obj[0]))]
    if isinstance(obj, ast.ObjectWithArgs):
        return [func_ref(obj)]
    kind = DROP_REF_KINDS.get(name)
    if kind is None:
        return []
    if kind in ('schema', 'ext', 'evttrig'):
        return [Ref(kind, strings(obj)[-1:])]
    return [Ref(kind, strings(obj))]


def grant_refs(stmt):
    objtype = enums.ObjectType(stmt.objtype).name
    if stmt.targtype == enums.GrantTargetType.ACL_TARGET_ALL_IN_SCHEMA:
        return [Ref('schema', (s.sval,)) for s in stmt.objects]
    refs = []
    for obj in stmt.objects or ():
        if isinstance(obj, ast.RangeVar):
            refs.append(rv_ref(obj))
        elif isinstance(obj, ast.ObjectWithArgs):
            refs.append(func_ref(obj))
        elif objtype == 'OBJECT_SCHEMA':
            refs.append(Ref('schema', (obj.sval,)))
        elif objtype in ('OBJECT_TYPE', 'OBJECT_DOMAIN'):
            refs.append(Ref('type', strings(obj)))
        elif objtype == 'OBJECT_DATABASE':
            refs.append(Ref('db', (obj.sval,)))
    return refs


def refs_of(node):
    """Objects a statement changes, reads the old state of, or creates."""
    refs = []
    if isinstance(node, ast.CreateStmt):
        refs.append(rv_ref(node.relation))
        refs.extend(rv_ref(p) for p in node.inhRelations or ())
    elif isinstance(node, ast.CreateTableAsStmt):
        refs.append(rv_ref(node.into.rel))
    elif isinstance(node, ast.ViewStmt):
        refs.append(rv_ref(node.view))
    elif isinstance(node, ast.IndexStmt):
        table = rv_parts(node.relation)
        refs.append(rel_ref(table))
        if node.idxname:
            refs.append(rel_ref(table[:-1] + (node.idxname,)))
    elif isinstance(node, (ast.CreateSeqStmt, ast.AlterSeqStmt)):
        refs.append(rv_ref(node.sequence))
    elif isinstance(node, ast.CompositeTypeStmt):
        refs.append(Ref('type', rv_parts(node.typevar)))
    elif isinstance(node, (ast.CreateEnumStmt, ast.CreateRangeStmt, ast.AlterEnumStmt)):
        refs.append(Ref('type', strings(node.typeName)))
    elif isinstance(node, ast.CreateDomainStmt):
        refs.append(Ref('type', strings(node.domainname)))
    elif isinstance(node, ast.AlterDomainStmt):
        refs.append(Ref('type', strings(node.typeName)))
    elif isinstance(node, ast.DefineStmt):
        kind = enums.ObjectType(node.kind).name
        if kind == 'OBJECT_TYPE':
            refs.append(Ref('type', strings(node.defnames)))
        elif kind == 'OBJECT_AGGREGATE':
            refs.append(Ref('func', strings(node.defnames)))
    elif isinstance(node, ast.CreateFunctionStmt):
        refs.append(Ref('func', strings(node.funcname)))
    elif isinstance(node, ast.AlterFunctionStmt):
        refs.append(func_ref(node.func))
    elif isinstance(node, ast.CreateTrigStmt):
        refs.append(rv_ref(node.relation))
    elif isinstance(node, ast.CreateEventTrigStmt):
        refs.append(Ref('evttrig', (node.trigname,)))
    elif isinstance(node, ast.CreateSchemaStmt):
        if node.schemaname:
            refs.append(Ref('schema', (node.schemaname,)))
    elif isinstance(node, (ast.CreateExtensionStmt, ast.AlterExtensionStmt)):
        refs.append(Ref('ext', (node.extname,)))
    elif isinstance(node, ast.AlterTableStmt):
        kind = 'type' if node.objtype == enums.ObjectType.OBJECT_TYPE else 'rel'
        refs.append(Ref(kind, rv_parts(node.relation)))
        for cmd in node.cmds:
            if cmd.subtype in (enums.AlterTableType.AT_AttachPartition, enums.AlterTableType.AT_DetachPartition):
                refs.append(rv_ref(cmd.def_.name))
            elif cmd.subtype in (enums.AlterTableType.AT_AddInherit, enums.AlterTableType.AT_DropInherit):
                refs.append(rv_ref(cmd.def_))
    elif isinstance(node, ast.RenameStmt):
        refs.extend(rename_refs(node))
    elif isinstance(node, ast.AlterObjectSchemaStmt):
        if node.relation is not None:
            old = rv_parts(node.relation)
            refs.append(rel_ref(old))
            refs.append(rel_ref((node.newschema, old[-1])))
        else:
            kind = 'func' if isinstance(node.object, ast.ObjectWithArgs) else 'type'
            old = object_refs(node.objectType, node.object)
            refs.extend(old)
            if old:
                refs.append(Ref(kind, (node.newschema, old[0].name), old[0].args))
    elif isinstance(node, ast.AlterOwnerStmt):
        if node.relation is not None:
            refs.append(rv_ref(node.relation))
        else:
            refs.extend(object_refs(node.objectType, node.object))
    elif isinstance(node, ast.CommentStmt):
        refs.extend(object_refs(node.objtype, node.object))
    elif isinstance(node, ast.GrantStmt):
        refs.extend(grant_refs(node))
    elif isinstance(node, ast.GrantRoleStmt):
        refs.extend(Ref('member', (p.priv_name,)) for p in node.granted_roles)
    elif isinstance(node, ast.AlterDefaultPrivilegesStmt):
        refs.append(Ref('defacl', ('all',)))
    elif isinstance(node, ast.DropStmt):
        for obj in node.objects:
            refs.extend(object_refs(node.removeType, obj))
    elif isinstance(node, (ast.CreatePolicyStmt, ast.AlterPolicyStmt)):
        refs.append(rv_ref(node.table))
    elif isinstance(node, ast.RuleStmt):
        refs.append(rv_ref(node.relation))
    elif isinstance(node, ast.CreateStatsStmt):
        refs.extend(rv_ref(r) for r in node.relations if isinstance(r, ast.RangeVar))
    elif isinstance(node, (ast.InsertStmt, ast.UpdateStmt, ast.DeleteStmt)):
        refs.append(rv_ref(node.relation))
    elif isinstance(node, ast.TruncateStmt):
        refs.extend(rv_ref(r) for r in node.relations)
    elif isinstance(node, ast.CreateRoleStmt):
        refs.append(Ref('role', (node.role,)))
    return unique_refs(refs)


def rename_refs(node):
    kind = enums.ObjectType(node.renameType).name
    if node.relation is not None:
        parts = rv_parts(node.relation)
        if kind in ('OBJECT_TABLE', 'OBJECT_VIEW', 'OBJECT_MATVIEW', 'OBJECT_INDEX', 'OBJECT_SEQUENCE',
                    'OBJECT_FOREIGN_TABLE'):
            return [rel_ref(parts), rel_ref(parts[:-1] + (node.newname,))]
        if kind == 'OBJECT_ATTRIBUTE':
            return [Ref('type', parts)]
        return [rel_ref(parts)]
    if kind == 'OBJECT_SCHEMA':
        return [Ref('schema', (node.subname,)), Ref('schema', (node.newname,))]
    if isinstance(node.object, ast.ObjectWithArgs):
        old = func_ref(node.object)
        return [old, Ref('func', old.parts[:-1] + (node.newname,), old.args)]
    if kind in ('OBJECT_TYPE', 'OBJECT_DOMAIN'):
        parts = strings(node.object)
        return [Ref('type', parts), Ref('type', parts[:-1] + (node.newname,))]
    if kind == 'OBJECT_DOMCONSTRAINT':
        return object_refs(node.renameType, node.object)
    return []


# --- the snapshot, as the generator reads it ---------------------------------------

class StatementState(BaseStatementState):
    """The snapshot of one statement, with names resolved to (schema, name)."""

    def resolved(self, ref):
        """(schema, name) the ref resolved to, or the parts as written."""
        key = self.key(ref)
        if key:
            return split_key(key)
        return (ref.schema, ref.name)


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


# --- type changes ------------------------------------------------------------------

def parse_type(text):
    """(base name, typmods, array) of a type as format_type() writes it."""
    cast = parse_sql(f'SELECT NULL::{text}')[0].stmt.targetList[0].val
    typename = cast.typeName
    base = typename.names[-1].sval
    mods = []
    for mod in typename.typmods or ():
        value = getattr(mod, 'val', None)
        mods.append(getattr(value, 'ival', None) if value is not None else None)
    return base, tuple(mods), bool(typename.arrayBounds)


def is_widening(old, new):
    """True when every value of type old converts to new and back unchanged."""
    if old == new:
        return True
    try:
        (ob, om, oa), (nb, nm, na) = parse_type(old), parse_type(new)
    except ParseError:
        return False
    if oa != na:
        return False
    if ob == nb and not om and not nm:
        return True
    if nb == 'text' or (nb == 'varchar' and not nm):
        return True  # every value has a text form that casts back
    if ob in _INT_DIGITS and nb in _INT_DIGITS:
        return _INT_ORDER.index(nb) >= _INT_ORDER.index(ob)
    if ob in _INT_DIGITS and nb == 'numeric':
        return not nm or (nm[0] - (nm[1] if len(nm) > 1 else 0)) >= _INT_DIGITS[ob]
    if ob in ('int2', 'int4') and nb == 'float8':
        return True
    if ob == 'int2' and nb == 'float4':
        return True
    if ob == 'float4' and nb == 'float8':
        return True
    if ob == 'numeric' and nb == 'numeric':
        if not nm:
            return True
        if not om:
            return False
        oscale, nscale = (om[1] if len(om) > 1 else 0), (nm[1] if len(nm) > 1 else 0)
        return nscale >= oscale and nm[0] - nscale >= om[0] - oscale
    if ob in ('varchar', 'bpchar') and nb in ('varchar', 'bpchar'):
        if ob == 'varchar' and nb == 'bpchar':
            return False  # char(n) pads: trailing spaces change
        if not nm:
            return True
        return bool(om) and nm[0] >= om[0]
    if ob in _TIME_ORDER and nb in _TIME_ORDER:
        if _TIME_ORDER[nb] < _TIME_ORDER[ob]:
            return False
        # timestamp without a precision keeps microseconds (6).
        old_precision = om[0] if om else 6
        new_precision = nm[0] if nm else 6
        return new_precision >= old_precision
    if ob in ('time', 'timetz') and nb in ('time', 'timetz'):
        return nb == 'timetz' or ob == nb
    if {ob, nb} == {'json', 'jsonb'}:
        return True  # jsonb only drops insignificant whitespace and duplicate keys
    if ob in ('bit', 'varbit') and nb == 'varbit':
        return not nm or bool(om) and nm[0] >= om[0]
    return False


def plain_cast_of(expr, column):
    """True when a USING expression is the column itself or a cast of it."""
    while isinstance(expr, ast.TypeCast):
        expr = expr.arg
    return isinstance(expr, ast.ColumnRef) and strings(expr.fields)[-1:] == (column,)


def time_zone_of(expr, column):
    """The zone of `column AT TIME ZONE 'zone'` (timezone('zone', column)), else None."""
    if not isinstance(expr, ast.FuncCall) or strings(expr.funcname)[-1:] != ('timezone',) or len(expr.args) != 2:
        return None
    zone, arg = expr.args
    if isinstance(zone, ast.A_Const) and isinstance(zone.val, ast.String) and plain_cast_of(arg, column):
        return zone.val.sval
    return None


# --- ACL helpers -------------------------------------------------------------------------

ACL_WORDS = {
    'rel': 'TABLE', 'sequence': 'SEQUENCE', 'func': 'FUNCTION', 'schema': 'SCHEMA', 'type': 'TYPE',
}


def grantee_sql(name):
    return 'PUBLIC' if name == 'PUBLIC' else qi(name)


def acl_restore(word, target, wanted, default):
    """GRANT and REVOKE statements that turn the default ACL into the wanted one.

    ACL entries are [grantee, privilege, grantable] as the snapshot records them.
    """
    wanted = {tuple(e) for e in wanted or []}
    default = {tuple(e) for e in default or []}
    statements = []
    for grantee, privilege, grantable in sorted(default - wanted):
        if (grantee, privilege, not grantable) in wanted:
            continue
        statements.append(f'REVOKE {privilege} ON {word} {target} FROM {grantee_sql(grantee)}')
    for grantee, privilege, grantable in sorted(wanted - default):
        option = ' WITH GRANT OPTION' if grantable else ''
        if (grantee, privilege, not grantable) in default and not grantable:
            statements.append(f'REVOKE GRANT OPTION FOR {privilege} ON {word} {target} FROM {grantee_sql(grantee)}')
            continue
        statements.append(f'GRANT {privilege} ON {word} {target} TO {grantee_sql(grantee)}{option}')
    return statements


# --- restoring objects from their descriptions -----------------------------------------

REL_WORDS = {
    'table': 'TABLE', 'partitioned table': 'TABLE', 'view': 'VIEW', 'materialized view': 'MATERIALIZED VIEW',
    'sequence': 'SEQUENCE', 'index': 'INDEX', 'partitioned index': 'INDEX', 'foreign table': 'FOREIGN TABLE',
}


def strip_semicolon(text):
    text = text.strip()
    return text[:-1].rstrip() if text.endswith(';') else text


def comment_sql(word, target, comment):
    return f'COMMENT ON {word} {target} IS {literal(comment)}'


def column_sql(column):
    text = f"{qi(column['name'])} {column['type']}"
    if column.get('collation'):
        text += f" COLLATE {column['collation']}"
    if column.get('generated') == 's':
        text += f" GENERATED ALWAYS AS ({column['default']}) STORED"
    elif column.get('identity'):
        text += ' GENERATED ' + ('ALWAYS' if column['identity'] == 'a' else 'BY DEFAULT') + ' AS IDENTITY'
    elif column.get('default') is not None:
        text += f" DEFAULT {column['default']}"
    if column.get('not_null'):
        text += ' NOT NULL'
    return text


def restore_table(desc, with_owner=True):
    """CREATE TABLE and everything hanging off it, from its description."""
    target = qn(desc['schema'], desc['name'])
    persistence = {'u': 'UNLOGGED ', 't': 'TEMPORARY '}.get(desc.get('persistence'), '')
    columns = ', '.join(column_sql(c) for c in desc['columns'])
    sql = f'CREATE {persistence}TABLE {target} ({columns})'
    if desc.get('partition_key'):
        sql += f" PARTITION BY {desc['partition_key']}"
    if desc.get('options'):
        sql += f" WITH ({', '.join(desc['options'])})"
    statements = [sql]
    for name, con in sorted(desc.get('constraints', {}).items(), key=lambda c: c[1]['type'] == 'f'):
        statements.append(f"ALTER TABLE {target} ADD CONSTRAINT {qi(name)} {con['def']}")
    statements.extend(restore_table_parts(desc, target, with_owner))
    return statements


def restore_table_parts(desc, target, with_owner=True, indexes=True):
    statements = []
    if indexes:
        for index in sorted(desc.get('indexes', {}).values(), key=lambda i: i['def']):
            if not index.get('constraint'):
                statements.append(index['def'])
    for name, trigger in sorted(desc.get('triggers', {}).items()):
        statements.append(trigger['def'])
        statements.extend(trigger_state_sql(target, name, trigger))
    for name, policy in sorted(desc.get('policies', {}).items()):
        statements.append(policy_sql(target, name, policy))
    for rule in sorted(desc.get('rules', {}).values(), key=lambda r: r['def']):
        statements.append(strip_semicolon(rule['def']))
    if desc.get('row_security'):
        statements.append(f'ALTER TABLE {target} ENABLE ROW LEVEL SECURITY')
    if desc.get('force_row_security'):
        statements.append(f'ALTER TABLE {target} FORCE ROW LEVEL SECURITY')
    statements.extend(comments_sql(desc, target))
    if with_owner and desc.get('owner'):
        statements.append(f"ALTER TABLE {target} OWNER TO {qi(desc['owner'])}")
    statements.extend(acl_restore('TABLE', target, desc.get('acl'), desc.get('acl_default')))
    return statements


def comments_sql(desc, target):
    word = REL_WORDS.get(desc.get('kind'), 'TABLE')
    statements = []
    if desc.get('comment') is not None:
        statements.append(comment_sql(word, target, desc['comment']))
    for column in desc.get('columns', []):
        if column.get('comment') is not None:
            statements.append(comment_sql('COLUMN', f"{target}.{qi(column['name'])}", column['comment']))
    for name, con in sorted(desc.get('constraints', {}).items()):
        if con.get('comment') is not None:
            statements.append(comment_sql('CONSTRAINT', f'{qi(name)} ON {target}', con['comment']))
    for name, index in sorted(desc.get('indexes', {}).items()):
        if index.get('comment') is not None:
            statements.append(comment_sql('INDEX', qn(desc['schema'], name), index['comment']))
    return statements


def trigger_state_sql(target, name, trigger):
    state = {'D': 'DISABLE', 'R': 'ENABLE REPLICA', 'A': 'ENABLE ALWAYS'}.get(trigger.get('enabled'))
    statements = [f'ALTER TABLE {target} {state} TRIGGER {qi(name)}'] if state else []
    if trigger.get('comment') is not None:
        statements.append(comment_sql('TRIGGER', f'{qi(name)} ON {target}', trigger['comment']))
    return statements


def policy_sql(target, name, policy):
    sql = f"CREATE POLICY {qi(name)} ON {target} AS {'PERMISSIVE' if policy['permissive'] else 'RESTRICTIVE'}"
    sql += f" FOR {policy['command']} TO {', '.join(grantee_sql(r) for r in policy['roles'])}"
    if policy.get('using') is not None:
        sql += f" USING ({policy['using']})"
    if policy.get('check') is not None:
        sql += f" WITH CHECK ({policy['check']})"
    return sql


def restore_view(desc):
    target = qn(desc['schema'], desc['name'])
    materialized = desc['kind'] == 'materialized view'
    word = 'MATERIALIZED VIEW' if materialized else 'VIEW'
    options = f" WITH ({', '.join(desc['options'])})" if desc.get('options') else ''
    sql = f"CREATE {word} {target}{options} AS {strip_semicolon(desc['view_definition'])}"
    if materialized and not desc.get('populated', True):
        sql += ' WITH NO DATA'
    statements = [sql]
    if materialized:
        statements.extend(i['def'] for i in sorted(desc.get('indexes', {}).values(), key=lambda i: i['def']))
    for column in desc.get('columns', []):
        if column.get('default') is not None and not materialized:
            statements.append(f"ALTER VIEW {target} ALTER COLUMN {qi(column['name'])} SET DEFAULT {column['default']}")
    for rule in sorted(desc.get('rules', {}).values(), key=lambda r: r['def']):
        statements.append(strip_semicolon(rule['def']))
    for trigger in sorted(desc.get('triggers', {}).values(), key=lambda t: t['def']):
        statements.append(trigger['def'])
    statements.extend(comments_sql(desc, target))
    if desc.get('owner'):
        statements.append(f"ALTER {word} {target} OWNER TO {qi(desc['owner'])}")
    statements.extend(acl_restore('TABLE', target, desc.get('acl'), desc.get('acl_default')))
    return statements


def sequence_options_sql(seq):
    cycle = 'CYCLE' if seq['cycle'] else 'NO CYCLE'
    return (f"AS {seq['type']} INCREMENT BY {seq['increment']} MINVALUE {seq['min']} MAXVALUE {seq['max']} "
            f"START WITH {seq['start']} CACHE {seq['cache']} {cycle}")


def restore_index(desc):
    index = desc['index']
    statements = [index['def']]
    if index.get('comment') is not None:
        statements.append(comment_sql('INDEX', qn(desc['schema'], desc['name']), index['comment']))
    if index.get('clustered'):
        statements.append(f"ALTER TABLE {index['table']} CLUSTER ON {qi(desc['name'])}")
    if index.get('replica_identity'):
        statements.append(f"ALTER TABLE {index['table']} REPLICA IDENTITY USING INDEX {qi(desc['name'])}")
    return statements


def restore_relation(desc):
    kind = desc['kind']
    if kind in ('view', 'materialized view'):
        return restore_view(desc)
    if kind in ('index', 'partitioned index'):
        return restore_index(desc)
    if kind in ('table', 'partitioned table'):
        return restore_table(desc)
    raise unsupported(f"cannot recreate a {kind} from the snapshot")


def function_word(overload):
    return {'p': 'PROCEDURE', 'a': 'AGGREGATE', 'w': 'FUNCTION'}.get(overload.get('kind'), 'FUNCTION')


def restore_function(schema, name, args, overload, with_owner=True):
    if overload.get('def') is None:
        raise unsupported(f'cannot recreate aggregate {qn(schema, name)}({args}) from the snapshot')
    target = f'{qn(schema, name)}({args})'
    word = function_word(overload)
    statements = [overload['def'].strip()]
    if overload.get('comment') is not None:
        statements.append(comment_sql(word, target, overload['comment']))
    if with_owner and overload.get('owner'):
        statements.append(f"ALTER {word} {target} OWNER TO {qi(overload['owner'])}")
    statements.extend(acl_restore(word if word != 'AGGREGATE' else 'FUNCTION', target,
                                  overload.get('acl'), overload.get('acl_default')))
    return statements


def restore_type(desc):
    target = qn(desc['schema'], desc['name'])
    kind = desc['kind']
    if kind == 'enum':
        statements = [f"CREATE TYPE {target} AS ENUM ({', '.join(literal(v) for v in desc['labels'])})"]
    elif kind == 'composite':
        attributes = ', '.join(f"{qi(a['name'])} {a['type']}" for a in desc['attributes'])
        statements = [f'CREATE TYPE {target} AS ({attributes})']
    elif kind == 'domain':
        sql = f"CREATE DOMAIN {target} AS {desc['base']}"
        if desc.get('default') is not None:
            sql += f" DEFAULT {desc['default']}"
        if desc.get('not_null'):
            sql += ' NOT NULL'
        statements = [sql]
        for cname, con in sorted(desc.get('constraints', {}).items()):
            statements.append(f"ALTER DOMAIN {target} ADD CONSTRAINT {qi(cname)} {con['def']}")
    elif kind == 'range':
        statements = [f"CREATE TYPE {target} AS RANGE (SUBTYPE = {desc['subtype']})"]
    else:
        raise unsupported(f'cannot recreate {kind} type {target} from the snapshot')
    word = 'DOMAIN' if kind == 'domain' else 'TYPE'
    if desc.get('comment') is not None:
        statements.append(comment_sql(word, target, desc['comment']))
    if desc.get('owner'):
        statements.append(f"ALTER {word} {target} OWNER TO {qi(desc['owner'])}")
    statements.extend(acl_restore('TYPE', target, desc.get('acl'), desc.get('acl_default')))
    return statements


def recreate_enum(desc, known):
    """Statements that put an enum back to its old labels (PostgreSQL cannot drop a value).

    The type is renamed away, created again with its old labels, every column of it
    (and of its array type) is converted back through text, the views that depend on
    them are dropped first and created again last, and the old type is dropped. A row
    holding a value added since makes the conversion fail, and the rollback with it.
    """
    target = qn(desc['schema'], desc['name'])
    parked = f"{desc['name']}__bundle_rollback"
    views = [known[k] for k in desc.get('dependent_views', []) if existed(known.get(k))]
    statements = []
    for view in reversed(views):
        word = 'MATERIALIZED VIEW' if view['kind'] == 'materialized view' else 'VIEW'
        statements.append(f"DROP {word} {qn(view['schema'], view['name'])}")
    statements.append(f'ALTER TYPE {target} RENAME TO {qi(parked)}')
    statements.extend(restore_type(desc))
    for use in desc.get('used_by', []):
        table = qn(use['schema'], use['table'])
        column = qi(use['column'])
        if use.get('default') is not None:
            statements.append(f'ALTER TABLE {table} ALTER COLUMN {column} DROP DEFAULT')
        if use.get('array'):
            statements.append(f'ALTER TABLE {table} ALTER COLUMN {column} TYPE {target}[] '
                              f'USING {column}::text[]::{target}[]')
        else:
            statements.append(f'ALTER TABLE {table} ALTER COLUMN {column} TYPE {target} USING {column}::text::{target}')
        if use.get('default') is not None:
            statements.append(f"ALTER TABLE {table} ALTER COLUMN {column} SET DEFAULT {use['default']}")
    statements.append(f"DROP TYPE {qn(desc['schema'], parked)}")
    for view in views:
        statements.extend(restore_view(view))
    return statements


def restore_schema(name, desc):
    statements = [f'CREATE SCHEMA {qi(name)}']
    if desc.get('comment') is not None:
        statements.append(comment_sql('SCHEMA', qi(name), desc['comment']))
    if desc.get('owner'):
        statements.append(f"ALTER SCHEMA {qi(name)} OWNER TO {qi(desc['owner'])}")
    statements.extend(acl_restore('SCHEMA', qi(name), desc.get('acl'), desc.get('acl_default')))
    return statements


# --- the generator ---------------------------------------------------------------------

class Reverser(BaseReverser):
    """Reverses the statements of one PostgreSQL migration, last first."""

    state_class = StatementState

    # --- bookkeeping of what the migration itself created ---

    def ref_id(self, ref, state):
        key = state.key(ref)
        if key:
            return key
        schema = ref.schema
        return make_key(ref.kind, schema, ref.name) if schema else f'{ref.kind}:?.{qi(ref.name)}'

    def is_created(self, ref, state):
        return self.ref_id(ref, state) in self.created

    def track(self, stmt, state):
        node = stmt.node
        if isinstance(node, ast.CreateStmt):
            self.created.add(self.ref_id(rv_ref(node.relation), state))
        elif isinstance(node, ast.CreateTableAsStmt):
            self.created.add(self.ref_id(rv_ref(node.into.rel), state))
        elif isinstance(node, ast.AlterTableStmt):
            table = self.ref_id(Ref('rel', rv_parts(node.relation)), state)
            for cmd in node.cmds:
                if cmd.subtype == enums.AlterTableType.AT_AddColumn:
                    self.added_columns.setdefault(table, set()).add(cmd.def_.colname)
        elif isinstance(node, ast.RenameStmt) and node.relation is not None and node.renameType in (
                enums.ObjectType.OBJECT_TABLE, enums.ObjectType.OBJECT_VIEW, enums.ObjectType.OBJECT_MATVIEW):
            old, new = rename_refs(node)[:2]
            if self.ref_id(old, state) in self.created:
                self.created.add(self.ref_id(new, state))
            if self.ref_id(old, state) in self.added_columns:
                self.added_columns[self.ref_id(new, state)] = self.added_columns[self.ref_id(old, state)]

    # --- session settings: SET before the statements they govern, RESET at the end ---

    def setting(self, stmt, settings):
        if not isinstance(stmt.node, ast.VariableSetStmt):
            return False
        if stmt.node.kind == enums.VariableSetKind.VAR_RESET_ALL:
            settings.clear()
        else:
            settings[stmt.node.name or 'all'] = stmt.sql
        return True

    def settings_sql(self, emitted, wanted):
        resets = [f'RESET {qi(name)}' for name in sorted(set(emitted) - set(wanted))]
        return resets + [sql for name, sql in wanted.items() if emitted.get(name) != sql]

    def settings_end_sql(self, emitted):
        # Back to the session's own settings, as they were before the migration ran.
        return ['RESET ALL' if name == 'all' else f'RESET {qi(name)}' for name in sorted(emitted)]

    def reverse(self, stmt, state):
        handler = getattr(self, 'reverse_' + node_name(stmt.node), None)
        if handler is None:
            raise unsupported(f'no reverse rule for {node_name(stmt.node)} statements; '
                              'write a -- migrate:down section for this migration')
        return handler(stmt, stmt.node, state)

    # --- CREATE ---

    def reverse_CreateStmt(self, stmt, node, state):
        ref = rv_ref(node.relation)
        if node.if_not_exists and existed(state.before(ref)):
            return []
        return [f'DROP TABLE {qn(*rv_parts(node.relation))}']

    def reverse_CreateForeignTableStmt(self, stmt, node, state):
        ref = rv_ref(node.base.relation)
        if node.base.if_not_exists and existed(state.before(ref)):
            return []
        return [f'DROP FOREIGN TABLE {qn(*rv_parts(node.base.relation))}']

    def reverse_CreateTableAsStmt(self, stmt, node, state):
        ref = rv_ref(node.into.rel)
        if node.if_not_exists and existed(state.before(ref)):
            return []
        word = 'MATERIALIZED VIEW' if node.objtype == enums.ObjectType.OBJECT_MATVIEW else 'TABLE'
        return [f'DROP {word} {qn(*rv_parts(node.into.rel))}']

    def reverse_ViewStmt(self, stmt, node, state):
        ref = rv_ref(node.view)
        target = qn(*rv_parts(node.view))
        before = state.before(ref)
        if node.replace and before is UNKNOWN:
            raise unsupported(f'CREATE OR REPLACE VIEW {target}: the snapshot does not say whether it existed')
        if not existed(before):
            return [f'DROP VIEW {target}']
        after = self.need(state.after(ref), f'view {target} after the statement')
        old_cols = [(c['name'], c['type']) for c in before['columns']]
        new_cols = [(c['name'], c['type']) for c in after['columns']]
        if old_cols[:len(new_cols)] == new_cols and before.get('options') == after.get('options'):
            return [f"CREATE OR REPLACE VIEW {target} AS {strip_semicolon(before['view_definition'])}"]
        return [f'DROP VIEW {target}'] + restore_view(before)

    def reverse_IndexStmt(self, stmt, node, state):
        table_parts = rv_parts(node.relation)
        table_ref = rel_ref(table_parts)
        schema = state.resolved(table_ref)[0] if state.key(table_ref) else (
            table_parts[0] if len(table_parts) > 1 else None)
        if node.idxname:
            index_ref = rel_ref(table_parts[:-1] + (node.idxname,))
            if node.if_not_exists and existed(state.before(index_ref)):
                return []
            names = [node.idxname]
        else:
            before = self.need(state.before(table_ref), f'the indexes of {qn(*table_parts)} before the statement')
            after = self.need(state.after(table_ref), f'the indexes of {qn(*table_parts)} after the statement')
            names = sorted(set(after.get('indexes', {})) - set(before.get('indexes', {})))
            if not names:
                raise unsupported(f'cannot find the index this statement created on {qn(*table_parts)}')
        return [f'DROP INDEX {qn(schema, name)}' for name in names]

    def reverse_CreateSeqStmt(self, stmt, node, state):
        ref = rv_ref(node.sequence)
        if node.if_not_exists and existed(state.before(ref)):
            return []
        return [f'DROP SEQUENCE {qn(*rv_parts(node.sequence))}']

    def reverse_AlterSeqStmt(self, stmt, node, state):
        ref = rv_ref(node.sequence)
        target = qn(*rv_parts(node.sequence))
        before = state.before(ref)
        if node.missing_ok and absent(before):
            return []
        before = self.need(before, f'sequence {target} before the statement')
        statements = [f"ALTER SEQUENCE {target} {sequence_options_sql(before['sequence'])}"]
        options = {o.defname for o in node.options or ()}
        if 'owned_by' in options:
            owned = before['sequence'].get('owned_by')
            statements.append(f'ALTER SEQUENCE {target} OWNED BY {owned or "NONE"}')
        if 'restart' in options:
            self.notes.append(f'{target}: RESTART is not undone (a sequence position is data, not schema)')
        return statements

    def drop_type(self, parts, state, if_not_exists=False, word='TYPE'):
        ref = Ref('type', parts)
        if if_not_exists and existed(state.before(ref)):
            return []
        return [f'DROP {word} {qn(*parts)}']

    def reverse_CompositeTypeStmt(self, stmt, node, state):
        return self.drop_type(rv_parts(node.typevar), state)

    def reverse_CreateEnumStmt(self, stmt, node, state):
        return self.drop_type(strings(node.typeName), state)

    def reverse_CreateRangeStmt(self, stmt, node, state):
        return self.drop_type(strings(node.typeName), state)

    def reverse_CreateDomainStmt(self, stmt, node, state):
        return self.drop_type(strings(node.domainname), state, word='DOMAIN')

    def reverse_DefineStmt(self, stmt, node, state):
        kind = enums.ObjectType(node.kind).name
        parts = strings(node.defnames)
        if kind == 'OBJECT_TYPE':
            return self.drop_type(parts, state, node.if_not_exists)
        if kind == 'OBJECT_AGGREGATE':
            args = [deparse(p.argType) for p in (node.args[0] or ())] if node.args else []
            return [f"DROP AGGREGATE {qn(*parts)}({', '.join(args) or '*'})"]
        if kind == 'OBJECT_COLLATION':
            return [f'DROP COLLATION {qn(*parts)}']
        raise unsupported(f'no reverse rule for CREATE {kind[7:]}')

    def reverse_CreateFunctionStmt(self, stmt, node, state):
        parts = strings(node.funcname)
        word = 'PROCEDURE' if node.is_procedure else 'FUNCTION'
        ref = Ref('func', parts)
        before, after = state.before(ref), state.after(ref)
        if before is UNKNOWN or after is UNKNOWN:
            if node.replace:
                raise unsupported(f'CREATE OR REPLACE {word} {qn(*parts)}: the snapshot does not say '
                                  'whether it existed')
            return [f'DROP {word} {qn(*parts)}({in_arg_types(node.parameters)})']
        schema, name = state.resolved(ref)
        old = (before or {}).get('overloads', {})
        new = (after or {}).get('overloads', {})
        statements = []
        for args in sorted(set(new) - set(old)):
            statements.append(f'DROP {function_word(new[args])} {qn(schema, name)}({args})')
        for args in sorted(set(new) & set(old)):
            if new[args] == old[args]:
                continue
            if new[args].get('result') != old[args].get('result') or new[args].get('kind') != old[args].get('kind'):
                statements.append(f'DROP {function_word(new[args])} {qn(schema, name)}({args})')
                statements.extend(restore_function(schema, name, args, old[args]))
            else:
                statements.append(old[args]['def'].strip())
                if new[args].get('comment') != old[args].get('comment'):
                    statements.append(comment_sql(function_word(old[args]), f'{qn(schema, name)}({args})',
                                                  old[args].get('comment')))
        return statements

    def reverse_AlterFunctionStmt(self, stmt, node, state):
        ref = func_ref(node.func)
        before = self.need(state.before(ref), f'function {ref} before the statement')
        schema, name = state.resolved(ref)
        args = state.member(ref)
        overload = (before or {}).get('overloads', {}).get(args)
        if overload is None or overload.get('def') is None:
            raise unsupported(f'cannot find the definition of {ref} in the snapshot')
        return [overload['def'].strip()]

    def reverse_CreateTrigStmt(self, stmt, node, state):
        target = qn(*rv_parts(node.relation))
        if node.replace:
            before = self.need(state.before(rv_ref(node.relation)), f'the triggers of {target}')
            old = (before or {}).get('triggers', {}).get(node.trigname)
            if old is not None:
                return [f'DROP TRIGGER {qi(node.trigname)} ON {target}', old['def']] + \
                    trigger_state_sql(target, node.trigname, old)
        return [f'DROP TRIGGER {qi(node.trigname)} ON {target}']

    def reverse_CreateEventTrigStmt(self, stmt, node, state):
        return [f'DROP EVENT TRIGGER {qi(node.trigname)}']

    def reverse_CreateSchemaStmt(self, stmt, node, state):
        name = node.schemaname or (node.authrole.rolename if node.authrole else None)
        if name is None:
            raise unsupported('CREATE SCHEMA AUTHORIZATION CURRENT_USER names no schema')
        if node.if_not_exists and existed(state.before(Ref('schema', (name,)))):
            if node.schemaElts:
                raise unsupported(f'CREATE SCHEMA IF NOT EXISTS {qi(name)} with elements on an existing schema')
            return []
        # Everything inside was created by this very statement: CASCADE drops exactly that.
        return [f"DROP SCHEMA {qi(name)}{' CASCADE' if node.schemaElts else ''}"]

    def reverse_CreateExtensionStmt(self, stmt, node, state):
        if node.if_not_exists and existed(state.before(Ref('ext', (node.extname,)))):
            return []
        return [f'DROP EXTENSION {qi(node.extname)}']

    def reverse_AlterExtensionStmt(self, stmt, node, state):
        before = self.need(state.before(Ref('ext', (node.extname,))), f'extension {node.extname}')
        return [f"ALTER EXTENSION {qi(node.extname)} UPDATE TO {literal(before['version'])}"]

    def reverse_CreatePolicyStmt(self, stmt, node, state):
        return [f'DROP POLICY {qi(node.policy_name)} ON {qn(*rv_parts(node.table))}']

    def reverse_AlterPolicyStmt(self, stmt, node, state):
        target = qn(*rv_parts(node.table))
        before = self.need(state.before(rv_ref(node.table)), f'the policies of {target}')
        policy = before['policies'][node.policy_name]
        sql = f"ALTER POLICY {qi(node.policy_name)} ON {target} TO {', '.join(grantee_sql(r) for r in policy['roles'])}"
        if policy.get('using') is not None:
            sql += f" USING ({policy['using']})"
        if policy.get('check') is not None:
            sql += f" WITH CHECK ({policy['check']})"
        return [sql]

    def reverse_RuleStmt(self, stmt, node, state):
        target = qn(*rv_parts(node.relation))
        statements = [f'DROP RULE {qi(node.rulename)} ON {target}']
        if node.replace:
            before = self.need(state.before(rv_ref(node.relation)), f'the rules of {target}')
            old = before.get('rules', {}).get(node.rulename)
            if old:
                statements.append(strip_semicolon(old['def']))
        return statements

    def reverse_CreateStatsStmt(self, stmt, node, state):
        if not node.defnames:
            raise unsupported('CREATE STATISTICS without a name')
        parts = strings(node.defnames)
        if len(parts) == 1 and node.relations and isinstance(node.relations[0], ast.RangeVar):
            table = node.relations[0]
            schema = state.resolved(rv_ref(table))[0] if state.key(rv_ref(table)) else table.schemaname
            parts = (schema, parts[0]) if schema else parts
        return [f'DROP STATISTICS {qn(*parts)}']

    def reverse_CreateRoleStmt(self, stmt, node, state):
        if existed(state.before(Ref('role', (node.role,)))):
            return []
        return [f'DROP ROLE {qi(node.role)}']

    def reverse_CreateCastStmt(self, stmt, node, state):
        return [f'DROP CAST ({deparse(node.sourcetype)} AS {deparse(node.targettype)})']

    # --- ALTER TABLE ---

    def reverse_AlterTableStmt(self, stmt, node, state):
        objtype = enums.ObjectType(node.objtype).name
        kind = 'type' if objtype == 'OBJECT_TYPE' else 'rel'
        parts = rv_parts(node.relation)
        ref = Ref(kind, parts)
        before = state.before(ref)
        if node.missing_ok and absent(before):
            return []
        word = {'OBJECT_TYPE': 'TYPE', 'OBJECT_INDEX': 'INDEX', 'OBJECT_VIEW': 'VIEW',
                'OBJECT_MATVIEW': 'MATERIALIZED VIEW', 'OBJECT_SEQUENCE': 'SEQUENCE',
                'OBJECT_FOREIGN_TABLE': 'FOREIGN TABLE'}.get(objtype, 'TABLE')
        target = f'{word} {qn(*parts)}'
        created = self.is_created(ref, state)
        statements = []
        for cmd in reversed(node.cmds):
            statements.extend(self.reverse_alter_cmd(stmt, cmd, target, ref, state, created))
        return statements

    def reverse_alter_cmd(self, stmt, cmd, target, ref, state, created):
        subtype = enums.AlterTableType(cmd.subtype).name
        before, after = state.before(ref), state.after(ref)
        handler = getattr(self, 'alter_' + subtype[3:], None)
        if handler is None:
            raise unsupported(f'no reverse rule for ALTER ... {subtype[3:]}; write a -- migrate:down section')
        return handler(stmt, cmd, target, ref, state, before, after, created)

    def alter_AddColumn(self, stmt, cmd, target, ref, state, before, after, created):
        name = cmd.def_.colname
        if cmd.missing_ok and existed(column_of(before, name)):
            return []
        word = 'ATTRIBUTE' if target.startswith('TYPE ') else 'COLUMN'
        return [f'ALTER {target} DROP {word} {qi(name)}']

    def alter_DropColumn(self, stmt, cmd, target, ref, state, before, after, created):
        column = column_of(before, cmd.name)
        if cmd.missing_ok and column is None:
            return []
        if created:
            return []
        if target.startswith('TYPE '):
            raise unsupported(f'{target} DROP ATTRIBUTE {qi(cmd.name)}: no reverse rule')
        restore = []
        if existed(column):
            restore = [f'ALTER {target} ADD COLUMN {column_sql(dict(column, not_null=False))}']
            restore += self.restore_lost_parts(target, before, after)
        return self.destroys(stmt, f'drops column {qi(cmd.name)} of {target.split(" ", 1)[1]} and every value in it',
                             restore)

    def restore_lost_parts(self, target, before, after):
        """Constraints and indexes a DROP took along with it, recreated from before."""
        if not existed(before) or not existed(after):
            return []
        statements = []
        for name, con in before.get('constraints', {}).items():
            if name not in after.get('constraints', {}):
                statements.append(f"ALTER {target} ADD CONSTRAINT {qi(name)} {con['def']}")
        for name, index in before.get('indexes', {}).items():
            if name not in after.get('indexes', {}) and not index.get('constraint'):
                statements.append(index['def'])
        return statements

    def alter_ColumnDefault(self, stmt, cmd, target, ref, state, before, after, created):
        column = self.need(column_of(before, cmd.name), f'column {cmd.name} of {target} before the statement')
        if column is None:
            raise unsupported(f'column {cmd.name} of {target} is not in the snapshot')
        if column.get('default') is None:
            return [f'ALTER {target} ALTER COLUMN {qi(cmd.name)} DROP DEFAULT']
        return [f"ALTER {target} ALTER COLUMN {qi(cmd.name)} SET DEFAULT {column['default']}"]

    def not_null(self, cmd, target, before, set_now):
        column = column_of(before, cmd.name)
        if column is UNKNOWN:
            was = not set_now  # no snapshot: assume the statement changed it
        elif column is None:
            raise unsupported(f'column {cmd.name} of {target} is not in the snapshot')
        else:
            was = bool(column.get('not_null'))
        if was == set_now:
            return []
        return [f"ALTER {target} ALTER COLUMN {qi(cmd.name)} {'SET' if was else 'DROP'} NOT NULL"]

    def alter_SetNotNull(self, stmt, cmd, target, ref, state, before, after, created):
        return self.not_null(cmd, target, before, True)

    def alter_DropNotNull(self, stmt, cmd, target, ref, state, before, after, created):
        return self.not_null(cmd, target, before, False)

    def alter_AlterColumnType(self, stmt, cmd, target, ref, state, before, after, created):
        name = cmd.name
        old = self.need(column_of(before, name), f'the type of column {name} of {target} before the statement')
        new = self.need(column_of(after, name), f'the type of column {name} of {target} after the statement')
        if old is None or new is None:
            raise unsupported(f'column {name} of {target} is not in the snapshot')
        using = cmd.def_.raw_default
        restore = [f"ALTER {target} ALTER COLUMN {qi(name)} TYPE {old['type']}"
                   + (f" COLLATE {old['collation']}" if old.get('collation') else '')
                   + f" USING {qi(name)}::{old['type']}"]
        if old.get('default') is not None and old.get('default') != new.get('default'):
            restore.append(f"ALTER {target} ALTER COLUMN {qi(name)} SET DEFAULT {old['default']}")
        if target.startswith('TYPE '):
            restore = [f"ALTER {target} ALTER ATTRIBUTE {qi(name)} TYPE {old['type']}"]
        zone = time_zone_of(using, name) if using is not None else None
        kinds = {parse_type(old['type'])[0], parse_type(new['type'])[0]}
        if zone is not None and kinds == {'timestamp', 'timestamptz'}:
            # AT TIME ZONE converts between the two without loss; the same zone converts back.
            restore[0] = (f"ALTER {target} ALTER COLUMN {qi(name)} TYPE {old['type']} "
                          f"USING {qi(name)} AT TIME ZONE {literal(zone)}")
            return restore
        if created:
            return restore
        lossless = is_widening(old['type'], new['type']) and (using is None or plain_cast_of(using, name))
        if not lossless:
            how = 'with a USING expression' if using is not None and not plain_cast_of(using, name) else 'narrowing'
            return self.destroys(stmt, f"changes column {qi(name)} of {target.split(' ', 1)[1]} from {old['type']} "
                                       f"to {new['type']} ({how}): values may have been cut or rounded", restore)
        return restore

    def alter_AddConstraint(self, stmt, cmd, target, ref, state, before, after, created):
        con = cmd.def_
        if con.conname:
            names = [con.conname]
        else:
            b = self.need(before, f'the constraints of {target} before the statement')
            a = self.need(after, f'the constraints of {target} after the statement')
            names = sorted(set(a.get('constraints', {})) - set(b.get('constraints', {})))
            if not names:
                raise unsupported(f'cannot find the constraint this statement added to {target}')
        statements = [f'ALTER {target} DROP CONSTRAINT {qi(n)}' for n in names]
        if con.indexname:
            # ADD CONSTRAINT ... USING INDEX took over (and renamed) an existing index.
            b = self.need(before, f'index {con.indexname} before the statement')
            index = b.get('indexes', {}).get(con.indexname)
            if index is None:
                raise unsupported(f'index {con.indexname} is not in the snapshot')
            statements.append(index['def'])
        return statements

    def alter_DropConstraint(self, stmt, cmd, target, ref, state, before, after, created):
        if created:
            return []
        b = self.need(before, f'constraint {cmd.name} of {target} before the statement')
        con = (b or {}).get('constraints', {}).get(cmd.name)
        if con is None:
            if cmd.missing_ok:
                return []
            raise unsupported(f'constraint {cmd.name} of {target} is not in the snapshot')
        if cmd.behavior == enums.DropBehavior.DROP_CASCADE:
            raise unsupported(f'DROP CONSTRAINT {cmd.name} CASCADE may drop constraints of other tables')
        statements = [f"ALTER {target} ADD CONSTRAINT {qi(cmd.name)} {con['def']}"]
        if con.get('comment') is not None:
            statements.append(comment_sql('CONSTRAINT', f"{qi(cmd.name)} ON {target.split(' ', 1)[1]}",
                                          con['comment']))
        return statements

    def alter_AlterConstraint(self, stmt, cmd, target, ref, state, before, after, created):
        name = cmd.def_.conname
        b = self.need(before, f'constraint {name} of {target}')
        con = b.get('constraints', {}).get(name)
        if con is None:
            raise unsupported(f'constraint {name} of {target} is not in the snapshot')
        deferrable = 'DEFERRABLE' if con.get('deferrable') else 'NOT DEFERRABLE'
        initially = 'INITIALLY DEFERRED' if con.get('deferred') else 'INITIALLY IMMEDIATE'
        return [f'ALTER {target} ALTER CONSTRAINT {qi(name)} {deferrable} {initially}']

    def alter_ValidateConstraint(self, stmt, cmd, target, ref, state, before, after, created):
        b = self.need(before, f'constraint {cmd.name} of {target}')
        con = b.get('constraints', {}).get(cmd.name)
        if con is None:
            raise unsupported(f'constraint {cmd.name} of {target} is not in the snapshot')
        if con.get('validated', True):
            return []
        return [f'ALTER {target} DROP CONSTRAINT {qi(cmd.name)}',
                f"ALTER {target} ADD CONSTRAINT {qi(cmd.name)} {con['def']}"]

    def alter_ChangeOwner(self, stmt, cmd, target, ref, state, before, after, created):
        b = self.need(before, f'the owner of {target}')
        return [f"ALTER {target} OWNER TO {qi(b['owner'])}"]

    def alter_options(self, target, before, after):
        b = self.need(before, f'the storage options of {target}')
        a = self.need(after, f'the storage options of {target}')
        old = dict(o.split('=', 1) for o in b.get('options') or [])
        new = dict(o.split('=', 1) for o in a.get('options') or [])
        statements = []
        gone = sorted(set(new) - set(old))
        if gone:
            statements.append(f"ALTER {target} RESET ({', '.join(gone)})")
        changed = [f'{k}={v}' for k, v in sorted(old.items()) if new.get(k) != v]
        if changed:
            statements.append(f"ALTER {target} SET ({', '.join(changed)})")
        return statements

    def alter_SetRelOptions(self, stmt, cmd, target, ref, state, before, after, created):
        return self.alter_options(target, before, after)

    alter_ResetRelOptions = alter_SetRelOptions

    def row_security(self, target, before, field_name, on, off):
        b = self.need(before, f'the row security flags of {target}')
        return [f'ALTER {target} {on if b.get(field_name) else off}']

    def alter_EnableRowSecurity(self, stmt, cmd, target, ref, state, before, after, created):
        if before is UNKNOWN:
            return [f'ALTER {target} DISABLE ROW LEVEL SECURITY']
        return self.row_security(target, before, 'row_security', 'ENABLE ROW LEVEL SECURITY',
                                 'DISABLE ROW LEVEL SECURITY')

    alter_DisableRowSecurity = alter_EnableRowSecurity

    def alter_ForceRowSecurity(self, stmt, cmd, target, ref, state, before, after, created):
        if before is UNKNOWN:
            return [f'ALTER {target} NO FORCE ROW LEVEL SECURITY']
        return self.row_security(target, before, 'force_row_security', 'FORCE ROW LEVEL SECURITY',
                                 'NO FORCE ROW LEVEL SECURITY')

    alter_NoForceRowSecurity = alter_ForceRowSecurity

    def trigger_toggle(self, target, before, name):
        if before is UNKNOWN:
            raise unsupported(f'the snapshot does not hold the state of trigger {name} on {target}')
        trigger = before.get('triggers', {}).get(name)
        if trigger is None:
            raise unsupported(f'trigger {name} of {target} is not in the snapshot')
        word = {'O': 'ENABLE', 'D': 'DISABLE', 'R': 'ENABLE REPLICA', 'A': 'ENABLE ALWAYS'}[trigger['enabled']]
        return [f'ALTER {target} {word} TRIGGER {qi(name)}']

    def alter_EnableTrig(self, stmt, cmd, target, ref, state, before, after, created):
        return self.trigger_toggle(target, before, cmd.name)

    alter_DisableTrig = alter_EnableAlwaysTrig = alter_EnableReplicaTrig = alter_EnableTrig

    def alter_EnableTrigAll(self, stmt, cmd, target, ref, state, before, after, created):
        return [f'ALTER {target} DISABLE TRIGGER ALL']

    def alter_DisableTrigAll(self, stmt, cmd, target, ref, state, before, after, created):
        return [f'ALTER {target} ENABLE TRIGGER ALL']

    def alter_EnableTrigUser(self, stmt, cmd, target, ref, state, before, after, created):
        return [f'ALTER {target} DISABLE TRIGGER USER']

    def alter_DisableTrigUser(self, stmt, cmd, target, ref, state, before, after, created):
        return [f'ALTER {target} ENABLE TRIGGER USER']

    def alter_ReplicaIdentity(self, stmt, cmd, target, ref, state, before, after, created):
        b = self.need(before, f'the replica identity of {target}')
        identity = b.get('replica_identity', 'd')
        if identity == 'i':
            index = next(n for n, i in b.get('indexes', {}).items() if i.get('replica_identity'))
            return [f'ALTER {target} REPLICA IDENTITY USING INDEX {qi(index)}']
        return [f"ALTER {target} REPLICA IDENTITY {dict(d='DEFAULT', n='NOTHING', f='FULL')[identity]}"]

    def alter_SetLogged(self, stmt, cmd, target, ref, state, before, after, created):
        return [f'ALTER {target} SET UNLOGGED']

    def alter_SetUnLogged(self, stmt, cmd, target, ref, state, before, after, created):
        return [f'ALTER {target} SET LOGGED']

    def alter_AddInherit(self, stmt, cmd, target, ref, state, before, after, created):
        return [f'ALTER {target} NO INHERIT {qn(*rv_parts(cmd.def_))}']

    def alter_DropInherit(self, stmt, cmd, target, ref, state, before, after, created):
        return [f'ALTER {target} INHERIT {qn(*rv_parts(cmd.def_))}']

    def alter_AttachPartition(self, stmt, cmd, target, ref, state, before, after, created):
        part = rv_ref(cmd.def_.name)
        statements = [f'ALTER {target} DETACH PARTITION {qn(*rv_parts(cmd.def_.name))}']
        # Attaching creates the partitioned table's indexes on the partition; detaching leaves them.
        old, new = state.before(part), state.after(part)
        if existed(old) and existed(new):
            schema = state.resolved(part)[0]
            for name in sorted(set(new.get('indexes', {})) - set(old.get('indexes', {}))):
                statements.append(f'DROP INDEX {qn(schema, name)}')
        return statements

    def alter_DetachPartition(self, stmt, cmd, target, ref, state, before, after, created):
        part = rv_ref(cmd.def_.name)
        desc = self.need(state.before(part), f'the partition bound of {part}')
        return [f"ALTER {target} ATTACH PARTITION {qn(*rv_parts(cmd.def_.name))} {desc['partition_bound']}"]

    def alter_AddIdentity(self, stmt, cmd, target, ref, state, before, after, created):
        return [f'ALTER {target} ALTER COLUMN {qi(cmd.name)} DROP IDENTITY']

    def alter_DropIdentity(self, stmt, cmd, target, ref, state, before, after, created):
        column = self.need(column_of(before, cmd.name), f'column {cmd.name} of {target}')
        if column is None or not column.get('identity'):
            return []
        how = 'ALWAYS' if column['identity'] == 'a' else 'BY DEFAULT'
        return [f'ALTER {target} ALTER COLUMN {qi(cmd.name)} ADD GENERATED {how} AS IDENTITY']

    def alter_ClusterOn(self, stmt, cmd, target, ref, state, before, after, created):
        b = self.need(before, f'the clustered index of {target}')
        index = next((n for n, i in b.get('indexes', {}).items() if i.get('clustered')), None)
        return [f'ALTER {target} CLUSTER ON {qi(index)}'] if index else [f'ALTER {target} SET WITHOUT CLUSTER']

    alter_DropCluster = alter_ClusterOn

    # --- renames, schemas, owners ---

    def reverse_RenameStmt(self, stmt, node, state):
        refs = rename_refs(node)
        if node.missing_ok and refs and absent(state.before(refs[0])):
            return []
        back = copy.deepcopy(node)
        back.missing_ok = False
        kind = enums.ObjectType(node.renameType).name
        if node.subname is not None:
            back.subname, back.newname = node.newname, node.subname
        elif node.relation is not None:
            back.relation.relname, back.newname = node.newname, node.relation.relname
        elif isinstance(node.object, ast.ObjectWithArgs):
            back.object.objname = tuple(node.object.objname[:-1]) + (ast.String(sval=node.newname),)
            back.newname = node.object.objname[-1].sval
        elif isinstance(node.object, tuple):
            back.object = tuple(node.object[:-1]) + (ast.String(sval=node.newname),)
            back.newname = node.object[-1].sval
        else:
            raise unsupported(f'no reverse rule for RENAME of {kind[7:].lower()}')
        return [deparse(back)]

    def reverse_AlterObjectSchemaStmt(self, stmt, node, state):
        if node.relation is not None:
            ref = rv_ref(node.relation)
            if node.missing_ok and absent(state.before(ref)):
                return []
            old_schema = node.relation.schemaname or (state.resolved(ref)[0] if state.key(ref) else None)
            if old_schema is None:
                raise unsupported('SET SCHEMA of an unqualified name needs the snapshot to know the old schema')
            back = copy.deepcopy(node)
            back.relation.schemaname = node.newschema
            back.newschema = old_schema
            return [deparse(back)]
        refs = object_refs(node.objectType, node.object)
        if not refs:
            raise unsupported('no reverse rule for this SET SCHEMA')
        old_schema = refs[0].schema or (state.resolved(refs[0])[0] if state.key(refs[0]) else None)
        if old_schema is None:
            raise unsupported('SET SCHEMA of an unqualified name needs the snapshot to know the old schema')
        back = copy.deepcopy(node)
        if isinstance(node.object, ast.ObjectWithArgs):
            back.object.objname = (ast.String(sval=node.newschema), node.object.objname[-1])
        else:
            back.object = (ast.String(sval=node.newschema), node.object[-1])
        back.newschema = old_schema
        return [deparse(back)]

    def reverse_AlterOwnerStmt(self, stmt, node, state):
        refs = [rv_ref(node.relation)] if node.relation is not None else object_refs(node.objectType, node.object)
        if not refs:
            raise unsupported('no reverse rule for this OWNER TO')
        before = self.need(state.before(refs[0]), f'the owner of {refs[0]}')
        owner = before.get('owner')
        if refs[0].kind == 'func':
            owner = before['overloads'][state.member(refs[0])]['owner']
        back = copy.deepcopy(node)
        back.newowner = ast.RoleSpec(roletype=enums.RoleSpecType.ROLESPEC_CSTRING, rolename=owner)
        return [deparse(back)]

    # --- comments and privileges ---

    def reverse_CommentStmt(self, stmt, node, state):
        objtype = enums.ObjectType(node.objtype).name
        refs = object_refs(node.objtype, node.object)
        if not refs:
            raise unsupported(f'no reverse rule for COMMENT ON {objtype[7:]}')
        before = self.need(state.before(refs[0]), f'the old comment of {refs[0]}')
        if before is None:
            raise unsupported(f'{refs[0]} is not in the snapshot')
        if objtype == 'OBJECT_COLUMN':
            column = column_of(before, strings(node.object)[-1])
            old = column.get('comment') if column else None
        elif objtype in ('OBJECT_TABCONSTRAINT', 'OBJECT_TRIGGER', 'OBJECT_POLICY', 'OBJECT_RULE'):
            group = {'OBJECT_TABCONSTRAINT': 'constraints', 'OBJECT_TRIGGER': 'triggers',
                     'OBJECT_POLICY': 'policies', 'OBJECT_RULE': 'rules'}[objtype]
            old = before.get(group, {}).get(strings(node.object)[-1], {}).get('comment')
        elif objtype == 'OBJECT_DOMCONSTRAINT':
            old = before.get('constraints', {}).get(node.object[-1].sval, {}).get('comment')
        elif refs[0].kind == 'func':
            old = before['overloads'].get(state.member(refs[0]), {}).get('comment')
        elif objtype == 'OBJECT_INDEX':
            old = before.get('index', {}).get('comment', before.get('comment'))
        else:
            old = before.get('comment')
        back = copy.deepcopy(node)
        back.comment = old
        return [deparse(back)]

    def acl_of(self, desc, ref, state):
        if not existed(desc):
            return None
        if ref.kind == 'func':
            return (desc.get('overloads', {}).get(state.member(ref)) or {}).get('acl')
        return desc.get('acl')

    def reverse_GrantStmt(self, stmt, node, state):
        back = copy.deepcopy(node)
        back.is_grant = not node.is_grant
        back.grant_option = False
        back.behavior = enums.DropBehavior.DROP_RESTRICT
        if node.targtype != enums.GrantTargetType.ACL_TARGET_OBJECT or not node.privileges or any(
                p.cols for p in node.privileges) or any(
                g.roletype not in (enums.RoleSpecType.ROLESPEC_CSTRING, enums.RoleSpecType.ROLESPEC_PUBLIC)
                for g in node.grantees):
            return [deparse(back)]
        # With a snapshot: undo only the privileges that actually changed.
        refs = grant_refs(node)
        if len(refs) != len(node.objects or ()):
            return [deparse(back)]
        statements = []
        for obj, ref in zip(node.objects, refs, strict=True):
            before, after = state.before(ref), state.after(ref)
            old, new = self.acl_of(before, ref, state), self.acl_of(after, ref, state)
            if old is None or new is None:
                return [deparse(back)]
            old, new = {tuple(e) for e in old}, {tuple(e) for e in new}
            for grantee in node.grantees:
                name = 'PUBLIC' if grantee.roletype == enums.RoleSpecType.ROLESPEC_PUBLIC else grantee.rolename
                for priv in node.privileges:
                    privilege = priv.priv_name.upper()
                    had = {e for e in old if e[0] == name and e[1] == privilege}
                    has = {e for e in new if e[0] == name and e[1] == privilege}
                    if had == has:
                        continue
                    one = copy.deepcopy(back)
                    one.objects = (obj,)
                    one.privileges = (priv,)
                    one.grantees = (grantee,)
                    if node.is_grant and had:
                        # It had the privilege without grant option: take back only the option.
                        one.grant_option = True
                    elif not node.is_grant:
                        one.grant_option = any(e[2] for e in had)
                        if has:  # REVOKE GRANT OPTION FOR: only the option went away
                            one.grant_option = True
                    statements.append(deparse(one))
        return statements

    def reverse_GrantRoleStmt(self, stmt, node, state):
        back = copy.deepcopy(node)
        back.is_grant = not node.is_grant
        if node.is_grant:
            kept = []
            for role in node.granted_roles:
                before = state.before(Ref('member', (role.priv_name,)))
                members = set(before.get('members', [])) if existed(before) else set()
                names = {g.rolename for g in node.grantee_roles}
                if not names <= {m.split('+')[0] for m in members}:
                    kept.append(role)
            if not kept:
                return []
            back.granted_roles = tuple(kept)
        back.opt = None
        return [deparse(back)]

    def reverse_AlterDefaultPrivilegesStmt(self, stmt, node, state):
        back = copy.deepcopy(node)
        back.action.is_grant = not node.action.is_grant
        back.action.grant_option = False
        return [deparse(back)]

    # --- DROP ---

    def reverse_DropStmt(self, stmt, node, state):
        kind = enums.ObjectType(node.removeType).name
        cascade = node.behavior == enums.DropBehavior.DROP_CASCADE
        statements = []
        for obj in reversed(node.objects):
            refs = object_refs(node.removeType, obj)
            ref = refs[0] if refs else None
            before = state.before(ref) if ref else UNKNOWN
            if ref is not None and self.is_created(ref, state) and kind in (
                    'OBJECT_TABLE', 'OBJECT_SEQUENCE', 'OBJECT_FOREIGN_TABLE'):
                continue  # created earlier in this migration: nothing to bring back
            if node.missing_ok and absent(before) and kind not in TABLE_CHILD_KINDS:
                continue
            statements.extend(self.undrop(stmt, kind, obj, ref, before, state, cascade))
        return statements

    def undrop(self, stmt, kind, obj, ref, before, state, cascade):
        name = '.'.join(strings(obj)) if isinstance(obj, tuple) else (
            '.'.join(p for p in ref.parts if p) if ref is not None else deparse(obj))
        if kind in ('OBJECT_TABLE', 'OBJECT_FOREIGN_TABLE'):
            restore = restore_table(before) if existed(before) else []
            return self.destroys(stmt, f'drops table {name} and every row in it', restore)
        if kind == 'OBJECT_SEQUENCE':
            return self.destroys(stmt, f'drops sequence {name} and its current value', [])
        if cascade and kind in ('OBJECT_SCHEMA', 'OBJECT_TYPE', 'OBJECT_DOMAIN', 'OBJECT_EXTENSION'):
            return self.destroys(stmt, f'drops {kind[7:].lower()} {name} with CASCADE, taking every dependent '
                                       'object (and its data) with it', [])
        if cascade:
            raise unsupported(f'DROP ... CASCADE of {name}: the dependent objects it took are not known')
        if kind in TABLE_CHILD_KINDS:
            table = self.need(before, f'table of {name}')
            if table is None:
                return []
            child = strings(obj)[-1]
            target = qn(*state.resolved(ref)) if state.key(ref) else qn(*strings(obj)[:-1])
            if kind == 'OBJECT_TRIGGER':
                trigger = table.get('triggers', {}).get(child)
                if trigger is None:
                    return []
                return [trigger['def']] + trigger_state_sql(target, child, trigger)
            if kind == 'OBJECT_POLICY':
                policy = table.get('policies', {}).get(child)
                return [policy_sql(target, child, policy)] if policy else []
            if kind == 'OBJECT_RULE':
                rule = table.get('rules', {}).get(child)
                return [strip_semicolon(rule['def'])] if rule else []
        before = self.need(before, f'{name} before the statement')
        if before is None:
            raise unsupported(f'{name} is not in the snapshot')
        if kind in ('OBJECT_VIEW', 'OBJECT_MATVIEW', 'OBJECT_INDEX'):
            return restore_relation(before)
        if kind in ('OBJECT_TYPE', 'OBJECT_DOMAIN'):
            return restore_type(before)
        if kind == 'OBJECT_SCHEMA':
            return restore_schema(ref.name, before)
        if kind == 'OBJECT_EXTENSION':
            return [f"CREATE EXTENSION {qi(ref.name)} WITH SCHEMA {qi(before['schema'])} "
                    f"VERSION {literal(before['version'])}"]
        if kind in ('OBJECT_FUNCTION', 'OBJECT_PROCEDURE', 'OBJECT_ROUTINE', 'OBJECT_AGGREGATE'):
            args = state.member(ref)
            overloads = before.get('overloads', {})
            if args is None and len(overloads) == 1:
                args = next(iter(overloads))
            if args not in overloads:
                raise unsupported(f'cannot find {name} in the snapshot')
            schema, fname = state.resolved(ref)
            return restore_function(schema, fname, args, overloads[args])
        raise unsupported(f'no reverse rule for DROP {kind[7:]}')

    # --- data ---

    def data_statement(self, stmt, ref, state, what):
        if self.is_created(ref, state):
            return []
        return self.destroys(stmt, what, [])

    def reverse_TruncateStmt(self, stmt, node, state):
        if all(self.is_created(rv_ref(r), state) for r in node.relations):
            return []
        names = ', '.join(qn(*rv_parts(r)) for r in node.relations)
        return self.destroys(stmt, f'empties {names}: the rows are gone', [])

    def reverse_DeleteStmt(self, stmt, node, state):
        return self.data_statement(stmt, rv_ref(node.relation), state,
                                   f'deletes rows of {qn(*rv_parts(node.relation))}')

    def reverse_UpdateStmt(self, stmt, node, state):
        ref = rv_ref(node.relation)
        targets = {t.name for t in node.targetList}
        added = self.added_columns.get(self.ref_id(ref, state), set())
        if targets <= added or self.is_created(ref, state):
            return []  # fills columns this migration added: dropping them undoes it
        return self.destroys(stmt, f'overwrites {", ".join(sorted(targets))} of {qn(*rv_parts(node.relation))}: '
                                   'the old values are gone', [])

    def reverse_InsertStmt(self, stmt, node, state):
        ref = rv_ref(node.relation)
        if self.is_created(ref, state):
            return []
        target = qn(*rv_parts(node.relation))
        select = node.selectStmt
        if node.onConflictClause is not None or select is None or not select.valuesLists:
            raise unsupported(f'INSERT into {target} other than plain VALUES: the rows it added cannot be '
                              'told from the others; write a -- migrate:down section')
        desc = self.need(state.before(ref), f'the key of {target}')
        if desc is None:
            raise unsupported(f'{target} is not in the snapshot')
        columns = [c.name for c in node.cols] if node.cols else [c['name'] for c in desc['columns']]
        keys = [con['columns'] for con in desc.get('constraints', {}).values()
                if con['type'] in ('p', 'u') and set(con['columns']) <= set(columns)]
        if not keys:
            raise unsupported(f'INSERT into {target}: no primary key or unique key among the inserted columns '
                              'identifies the rows; write a -- migrate:down section')
        key = sorted(keys, key=len)[0]
        rows = []
        for values in select.valuesLists:
            by_column = dict(zip(columns, values, strict=False))
            parts = []
            for column in key:
                value = by_column[column]
                if not is_constant(value):
                    raise unsupported(f'INSERT into {target}: {column} is not a constant')
                parts.append(deparse(value))
            rows.append('(' + ', '.join(parts) + ')')
        key_sql = '(' + ', '.join(qi(c) for c in key) + ')'
        return [f"DELETE FROM {target} WHERE {key_sql} IN ({', '.join(rows)})"]

    # --- statements with nothing to undo ---

    def nothing(self, stmt, node, state):
        return []

    reverse_SelectStmt = reverse_LockStmt = reverse_NotifyStmt = reverse_VacuumStmt = nothing
    reverse_ClusterStmt = reverse_ReindexStmt = reverse_RefreshMatViewStmt = reverse_CheckPointStmt = nothing
    reverse_ExplainStmt = reverse_ListenStmt = reverse_UnlistenStmt = reverse_DiscardStmt = nothing

    def reverse_DoStmt(self, stmt, node, state):
        check_do_block(node)
        if not state.data or not state.data.get('opaque'):
            raise unsupported('a DO block is reversed from the catalog snapshot taken around it, which is missing; '
                              'write a -- migrate:down section for this migration')
        return self.reverse_diff(stmt, state.data.get('before') or {}, state.data.get('after') or {})

    # --- reverse of what an opaque statement changed, from the catalogs before and after ---

    def reverse_diff(self, stmt, before, after):
        def kind_of(key):
            return key.split(':', 1)[0]

        created = sorted(k for k in after if after[k] is not None and before.get(k) is None)
        dropped = sorted(k for k in before if before[k] is not None and after.get(k) is None)
        changed = sorted(k for k in before if before[k] is not None and after.get(k) is not None
                         and before[k] != after[k])
        first, middle, last = [], [], []
        for key in created:
            desc = after[key]
            kind = kind_of(key)
            if kind == 'rel':
                word = REL_WORDS.get(desc['kind'], 'TABLE')
                target = qn(desc['schema'], desc['name'])
                if desc['kind'] in ('view', 'materialized view'):
                    first.append(f'DROP {word} {target}')
                elif desc['kind'] == 'sequence':
                    last.append(f'DROP SEQUENCE IF EXISTS {target}')
                else:
                    middle.append(f'DROP {word} {target}')
            elif kind == 'func':
                for args, overload in sorted(desc['overloads'].items()):
                    last.append(f"DROP {function_word(overload)} {qn(desc['schema'], desc['name'])}({args})")
            elif kind == 'type':
                word = 'DOMAIN' if desc['kind'] == 'domain' else 'TYPE'
                last.append(f"DROP {word} {qn(desc['schema'], desc['name'])}")
            elif kind == 'schema':
                last.append(f"DROP SCHEMA {qi(desc['name'])}")
            elif kind == 'ext':
                last.append(f"DROP EXTENSION {qi(desc['name'])}")
            else:
                raise unsupported(f'the DO block created {key}, which has no reverse rule')
        restore = []
        for key in dropped:
            desc = before[key]
            kind = kind_of(key)
            if kind == 'rel' and desc['kind'] in ('table', 'partitioned table', 'sequence', 'foreign table'):
                restore += self.destroys(stmt, f"drops {desc['kind']} {qn(desc['schema'], desc['name'])} and its "
                                               'data', restore_table(desc) if desc['kind'] != 'sequence' else [])
            elif kind == 'rel':
                restore += restore_relation(desc)
            elif kind == 'func':
                for args, overload in sorted(desc['overloads'].items()):
                    restore += restore_function(desc['schema'], desc['name'], args, overload)
            elif kind == 'type':
                restore += restore_type(desc)
            elif kind == 'schema':
                restore = restore_schema(desc['name'], desc) + restore
            elif kind == 'ext':
                restore = [f"CREATE EXTENSION {qi(desc['name'])} WITH SCHEMA {qi(desc['schema'])} "
                           f"VERSION {literal(desc['version'])}"] + restore
            else:
                raise unsupported(f'the DO block dropped {key}, which has no reverse rule')
        for key in changed:
            old, new = before[key], after[key]
            kind = kind_of(key)
            if kind == 'rel' and old['kind'] in ('table', 'partitioned table') and old['kind'] == new['kind']:
                middle = self.reverse_table_diff(stmt, old, new) + middle
            elif kind == 'rel' and old['kind'] in ('view', 'materialized view'):
                word = REL_WORDS[old['kind']]
                first.append(f"DROP {word} {qn(old['schema'], old['name'])}")
                restore += restore_view(old)
            elif kind == 'func':
                for args in sorted(set(new['overloads']) - set(old['overloads'])):
                    word = function_word(new['overloads'][args])
                    last.append(f"DROP {word} {qn(old['schema'], old['name'])}({args})")
                for args in sorted(set(old['overloads']) & set(new['overloads'])):
                    if old['overloads'][args] != new['overloads'][args]:
                        restore.append(f"DROP {function_word(new['overloads'][args])} "
                                       f"{qn(old['schema'], old['name'])}({args})")
                        restore += restore_function(old['schema'], old['name'], args, old['overloads'][args])
                for args in sorted(set(old['overloads']) - set(new['overloads'])):
                    restore += restore_function(old['schema'], old['name'], args, old['overloads'][args])
            elif kind == 'type' and old['kind'] == 'enum' and set(old['labels']) <= set(new.get('labels', [])):
                last += recreate_enum(old, before)
            elif kind == 'schema':
                if old.get('comment') != new.get('comment'):
                    restore.append(comment_sql('SCHEMA', qi(old['name']), old.get('comment')))
                if old.get('owner') != new.get('owner'):
                    restore.append(f"ALTER SCHEMA {qi(old['name'])} OWNER TO {qi(old['owner'])}")
                if old.get('acl') != new.get('acl'):
                    restore += acl_restore('SCHEMA', qi(old['name']), old['acl'], new['acl'])
            else:
                raise unsupported(f'the DO block changed {key} in a way that has no reverse rule')
        return first + middle + last + restore

    def reverse_table_diff(self, stmt, old, new):
        """Undo what changed on one table: its parts, its columns, its own attributes."""
        target = qn(old['schema'], old['name'])
        drops, columns, adds = [], [], []
        for group, drop, create in (
                ('triggers', lambda n: f'DROP TRIGGER {qi(n)} ON {target}', lambda n, d: [d['def']]),
                ('policies', lambda n: f'DROP POLICY {qi(n)} ON {target}', lambda n, d: [policy_sql(target, n, d)]),
                ('rules', lambda n: f'DROP RULE {qi(n)} ON {target}', lambda n, d: [strip_semicolon(d['def'])]),
                ('constraints', lambda n: f'ALTER TABLE {target} DROP CONSTRAINT {qi(n)}',
                 lambda n, d: [f"ALTER TABLE {target} ADD CONSTRAINT {qi(n)} {d['def']}"]),
                ('indexes', lambda n: f"DROP INDEX {qn(old['schema'], n)}", lambda n, d: [d['def']])):
            before, after = old.get(group, {}), new.get(group, {})
            for name in sorted(set(after) - set(before)):
                if group == 'indexes' and after[name].get('constraint'):
                    continue  # goes with its constraint
                drops.append(drop(name))
            for name in sorted(set(before) & set(after)):
                if before[name] != after[name] and not (group == 'indexes' and before[name].get('constraint')):
                    drops.append(drop(name))
                    adds += create(name, before[name])
            for name in sorted(set(before) - set(after)):
                if not (group == 'indexes' and before[name].get('constraint')):
                    adds += create(name, before[name])
        old_columns = {c['name']: c for c in old.get('columns', [])}
        new_columns = {c['name']: c for c in new.get('columns', [])}
        for name in [c['name'] for c in new.get('columns', []) if c['name'] not in old_columns]:
            columns.append(f'ALTER TABLE {target} DROP COLUMN {qi(name)}')
        for name, column in old_columns.items():
            if name not in new_columns:
                readd = f'ALTER TABLE {target} ADD COLUMN {column_sql(dict(column, not_null=False))}'
                columns += self.destroys(stmt, f'drops column {qi(name)} of {target} and every value in it', [readd])
                continue
            now = new_columns[name]
            if now['type'] != column['type']:
                if not is_widening(column['type'], now['type']):
                    columns += self.destroys(stmt, f"changes column {qi(name)} of {target} from {column['type']} "
                                                   f"to {now['type']} (narrowing): values may have been cut or "
                                                   'rounded', [])
                columns.append(f"ALTER TABLE {target} ALTER COLUMN {qi(name)} TYPE {column['type']} "
                               f"USING {qi(name)}::{column['type']}")
            if now.get('default') != column.get('default'):
                columns.append(f"ALTER TABLE {target} ALTER COLUMN {qi(name)} " + (
                    f"SET DEFAULT {column['default']}" if column.get('default') is not None else 'DROP DEFAULT'))
            if bool(now.get('not_null')) != bool(column.get('not_null')):
                columns.append(f"ALTER TABLE {target} ALTER COLUMN {qi(name)} "
                               f"{'SET' if column.get('not_null') else 'DROP'} NOT NULL")
            if now.get('comment') != column.get('comment'):
                columns.append(comment_sql('COLUMN', f'{target}.{qi(name)}', column.get('comment')))
            if now.get('identity') != column.get('identity') or now.get('generated') != column.get('generated'):
                raise unsupported(f'the DO block changed the identity or generation of {target}.{qi(name)}')
        own = []
        if new.get('comment') != old.get('comment'):
            own.append(comment_sql('TABLE', target, old.get('comment')))
        if new.get('owner') != old.get('owner'):
            own.append(f"ALTER TABLE {target} OWNER TO {qi(old['owner'])}")
        if new.get('acl') != old.get('acl'):
            own += acl_restore('TABLE', target, old.get('acl'), new.get('acl'))
        if new.get('row_security') != old.get('row_security'):
            own.append(f"ALTER TABLE {target} {'ENABLE' if old.get('row_security') else 'DISABLE'} ROW LEVEL SECURITY")
        for attribute in ('options', 'replica_identity', 'persistence', 'partition_bound', 'parents',
                          'force_row_security'):
            if new.get(attribute) != old.get(attribute):
                raise unsupported(f'the DO block changed the {attribute.replace("_", " ")} of {target}')
        return drops + columns + adds + own

    def reverse_AlterEnumStmt(self, stmt, node, state):
        parts = strings(node.typeName)
        if node.oldVal is not None:
            return [f'ALTER TYPE {qn(*parts)} RENAME VALUE {literal(node.newVal)} TO {literal(node.oldVal)}']
        before = state.before(Ref('type', parts))
        if not existed(before):
            raise unsupported(f'ALTER TYPE {qn(*parts)} ADD VALUE: PostgreSQL cannot remove a value from an enum, '
                              'and the snapshot does not hold the type to recreate it; write a -- migrate:down '
                              'section')
        if node.newVal in before.get('labels', []):
            return []  # IF NOT EXISTS, and it was there
        return recreate_enum(before, state.data.get('before', {}))

    def reverse_AlterDomainStmt(self, stmt, node, state):
        parts = strings(node.typeName)
        target = qn(*parts)
        before = self.need(state.before(Ref('type', parts)), f'domain {target}')
        if before is None:
            raise unsupported(f'domain {target} is not in the snapshot')
        subtype = node.subtype
        if subtype == 'T':
            default = before.get('default')
            return [f'ALTER DOMAIN {target} ' + (f'SET DEFAULT {default}' if default is not None else 'DROP DEFAULT')]
        if subtype in ('N', 'O'):
            return [f"ALTER DOMAIN {target} {'SET' if before.get('not_null') else 'DROP'} NOT NULL"]
        if subtype == 'C':
            name = node.def_.conname
            if not name:
                after = self.need(state.after(Ref('type', parts)), f'domain {target} after the statement')
                names = sorted(set(after.get('constraints', {})) - set(before.get('constraints', {})))
                if len(names) != 1:
                    raise unsupported(f'cannot find the constraint added to domain {target}')
                name = names[0]
            return [f'ALTER DOMAIN {target} DROP CONSTRAINT {qi(name)}']
        if subtype == 'X':
            con = before.get('constraints', {}).get(node.name)
            if con is None:
                return []
            return [f"ALTER DOMAIN {target} ADD CONSTRAINT {qi(node.name)} {con['def']}"]
        if subtype == 'V':
            return []
        raise unsupported(f'no reverse rule for ALTER DOMAIN ({subtype})')


DATA_STATEMENTS = {
    'DeleteStmt': 'deletes rows', 'UpdateStmt': 'overwrites values', 'TruncateStmt': 'empties tables',
    'InsertStmt': 'inserts rows', 'CopyStmt': 'copies rows in', 'MergeStmt': 'merges rows',
    'CallStmt': 'calls a procedure',
}


def check_do_block(node):
    """Refuse a DO block whose effect a catalog snapshot cannot show: data changes and SQL built at run time.

    The body is parsed with PostgreSQL's PL/pgSQL parser; every SQL statement in it (and
    every EXECUTE of a constant string) is parsed in turn. Schema changes are fine: the
    snapshot taken around the block shows them.
    """
    language = next((strings(a.arg)[0] for a in node.args if a.defname == 'language'), 'plpgsql')
    if language != 'plpgsql':
        raise unsupported(f'a DO block in {language}: only PL/pgSQL is read; write a -- migrate:down section')
    body = next(a.arg.sval for a in node.args if a.defname == 'as')
    try:
        tree = parse_plpgsql(f'CREATE FUNCTION bundle_do_block() RETURNS void LANGUAGE plpgsql AS $bundle$'
                             f'{body}$bundle$')
    except ParseError as exc:
        raise unsupported(f'the PL/pgSQL of the DO block does not parse ({exc}); write a -- migrate:down '
                          'section') from exc
    for kind, query in plpgsql_queries(tree):
        if kind == 'perform':
            raise unsupported('the DO block runs PERFORM, whose effect cannot be known; write a -- migrate:down '
                              'section')
        if kind == 'execute':
            value = parse_sql(f'SELECT {query}')[0].stmt.targetList[0].val
            if not (isinstance(value, ast.A_Const) and isinstance(value.val, ast.String)):
                raise unsupported(f'the DO block builds SQL at run time (EXECUTE {query[:80]}); write a '
                                  '-- migrate:down section')
            query = value.val.sval
        for raw in parse_sql(query):
            what = DATA_STATEMENTS.get(node_name(raw.stmt))
            if what is None and isinstance(raw.stmt, ast.SelectStmt) and raw.stmt.intoClause is not None:
                what = 'creates a table from a query'
            if what is not None:
                make = irreversible if node_name(raw.stmt) in ('DeleteStmt', 'UpdateStmt', 'TruncateStmt') \
                    else unsupported
                raise make(f'the DO block {what} ({query.strip()[:80]}), which the schema snapshot does not show')


def plpgsql_queries(tree):
    """(kind, query text) of every SQL statement, EXECUTE and PERFORM of a PL/pgSQL parse tree."""
    found = []

    def walk(value):
        if isinstance(value, dict):
            for key, item in value.items():
                if key == 'PLpgSQL_stmt_execsql':
                    found.append(('sql', item['sqlstmt']['PLpgSQL_expr']['query']))
                elif key == 'PLpgSQL_stmt_dynexecute':
                    found.append(('execute', item['query']['PLpgSQL_expr']['query']))
                elif key == 'PLpgSQL_stmt_perform':
                    found.append(('perform', item['expr']['PLpgSQL_expr']['query']))
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(tree)
    return found


def is_constant(node):
    if isinstance(node, ast.A_Const):
        return True
    if isinstance(node, ast.TypeCast):
        return is_constant(node.arg)
    return False


def reverse_migration(up_sql, snapshot=None, force=False):
    """The reverse of a migration's up SQL as a ReversePlan.

    snapshot: what schema_migrate recorded while applying it
    ({"statements": [StatementState data, ...]}), or None.
    """
    return reverse_statements(Reverser, split_statements(up_sql), snapshot, force)
