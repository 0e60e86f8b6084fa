# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""SQL that recreates an object from its snapshot description (and its ACL, comments, owner)."""

from __future__ import annotations

from ansible_collections.bundle.stack.plugins.module_utils.migrate.postgresql.sql import literal, qi, qn
from ansible_collections.bundle.stack.plugins.module_utils.migrate.reverse import existed, unsupported

# --- ACL helpers -------------------------------------------------------------------------


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


def restore_table(desc):
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
    statements.extend(restore_table_parts(desc, target))
    return statements


def restore_table_parts(desc, target):
    """A table's indexes (those no constraint makes), triggers, policies, rules, flags, comments, owner, ACL."""
    statements = []
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
    if desc.get('owner'):
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


def restore_function(schema, name, args, overload):
    if overload.get('def') is None:
        raise unsupported(f'cannot recreate aggregate {qn(schema, name)}({args}) from the snapshot')
    target = f'{qn(schema, name)}({args})'
    word = function_word(overload)
    statements = [overload['def'].strip()]
    if overload.get('comment') is not None:
        statements.append(comment_sql(word, target, overload['comment']))
    if overload.get('owner'):
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
