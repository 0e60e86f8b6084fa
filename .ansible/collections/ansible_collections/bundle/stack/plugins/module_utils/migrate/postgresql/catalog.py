# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The PostgreSQL catalogs as migration snapshots describe them.

The schema is described object by object from the catalogs (pg_class, pg_attribute,
pg_constraint, pg_index, pg_trigger, pg_policy, pg_rewrite, pg_sequence, pg_type,
pg_enum, pg_proc, pg_namespace, pg_extension, ACLs and comments), normalised through
the server's own pg_get_*def() functions so that two schemas built by different SQL
compare equal exactly when they are the same.
"""

from __future__ import annotations

from ansible_collections.bundle.stack.plugins.module_utils.migrate.catalog import Catalog
from ansible_collections.bundle.stack.plugins.module_utils.migrate.postgresql.sql import make_key, qn, split_key

USER_SCHEMAS = "left(n.nspname, 3) <> 'pg_' AND n.nspname <> 'information_schema'"
REL_KINDS = {'r': 'table', 'p': 'partitioned table', 'v': 'view', 'm': 'materialized view', 'S': 'sequence',
             'f': 'foreign table', 'i': 'index', 'I': 'partitioned index'}
REL_ACL_KIND = "CASE WHEN c.relkind = 'S' THEN 's' ELSE 'r' END::\"char\""
REL_DEFACL_KIND = "CASE WHEN c.relkind = 'S' THEN 'S' ELSE 'r' END::\"char\""
TYPE_KINDS = {'e': 'enum', 'c': 'composite', 'd': 'domain', 'r': 'range', 'b': 'base', 'm': 'multirange',
              'p': 'pseudo'}


def acl_sql(acl, kind, owner):
    """Explode an ACL (the default one when NULL) into sorted [grantee, privilege, grantable]."""
    return (f"(SELECT coalesce(json_agg(json_build_array(g.grantee, g.privilege_type, g.is_grantable) "
            f"ORDER BY g.grantee, g.privilege_type, g.is_grantable), '[]') FROM (SELECT DISTINCT "
            f"CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(a.grantee) END AS grantee, "
            f"a.privilege_type, a.is_grantable "
            f"FROM aclexplode(coalesce({acl}, acldefault({kind}, {owner}))) a) g)")


def acl_default_sql(kind, owner, namespace='0', defacl_kind=None):
    """The ACL an object of this kind gets when its owner creates it again now: the
    built-in default or the owner's global default privileges, plus the default
    privileges of its schema (what ALTER DEFAULT PRIVILEGES set up)."""
    defacl_kind = defacl_kind or kind
    created = (f"coalesce((SELECT d.defaclacl FROM pg_default_acl d WHERE d.defaclrole = {owner} "
               f"AND d.defaclnamespace = 0 AND d.defaclobjtype = {defacl_kind}), acldefault({kind}, {owner})) || "
               f"coalesce((SELECT d.defaclacl FROM pg_default_acl d WHERE d.defaclrole = {owner} "
               f"AND d.defaclnamespace = {namespace} AND {namespace} <> 0 AND d.defaclobjtype = {defacl_kind}), "
               "'{}'::aclitem[])")
    return acl_sql(created, kind, owner)


class PostgresqlCatalog(Catalog):
    """Describes schema objects of the connected database (exclude: (schema, name) pairs)."""

    # --- resolving refs to keys ---

    def resolve(self, ref):
        """[key, member] of a ref: where the object is, or would be created."""
        kind = ref.kind
        if kind == 'rel':
            row = self.one('SELECT n.nspname AS schema, c.relname AS name FROM pg_class c '
                           'JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = to_regclass(%s)',
                           (qn(*ref.parts),))
            return [self.key_or_default('rel', ref, row), None]
        if kind == 'type':
            row = self.one('SELECT n.nspname AS schema, t.typname AS name FROM pg_type t '
                           'JOIN pg_namespace n ON n.oid = t.typnamespace WHERE t.oid = to_regtype(%s)',
                           (qn(*ref.parts),))
            return [self.key_or_default('type', ref, row), None]
        if kind == 'func':
            if ref.args is not None:
                row = self.one('SELECT n.nspname AS schema, p.proname AS name, oidvectortypes(p.proargtypes) AS args '
                               'FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace '
                               'WHERE p.oid = to_regprocedure(%s)', (f'{qn(*ref.parts)}({ref.args})',))
                if row:
                    return [make_key('func', row['schema'], row['name']), row['args']]
            schema = ref.schema
            if schema is None:
                row = self.one('SELECT n.nspname AS schema FROM pg_proc p '
                               'JOIN pg_namespace n ON n.oid = p.pronamespace '
                               'WHERE p.proname = %s AND n.nspname = ANY(current_schemas(false)) '
                               'ORDER BY array_position(current_schemas(false), n.nspname) LIMIT 1', (ref.name,))
                schema = row['schema'] if row else self.current_schema()
            rows = self.rows('SELECT oidvectortypes(p.proargtypes) AS args FROM pg_proc p '
                             'JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = %s AND p.proname = %s',
                             (schema, ref.name))
            member = rows[0]['args'] if len(rows) == 1 and ref.args is None else None
            return [make_key('func', schema, ref.name), member]
        return [make_key(kind, None, ref.name), None]

    def key_or_default(self, kind, ref, row):
        if row:
            return make_key(kind, row['schema'], row['name'])
        return make_key(kind, ref.schema or self.current_schema(), ref.name)

    def current_schema(self):
        row = self.one('SELECT current_schema() AS schema_name')
        return row['schema_name'] or 'public'

    # --- describing ---

    def describe(self, keys):
        """{key: description or None when absent} for the given keys."""
        by_kind = {}
        for key in keys:
            by_kind.setdefault(key.split(':', 1)[0], []).append(key)
        found = {}
        if 'rel' in by_kind:
            names = [split_key(k) for k in by_kind['rel']]
            found.update(self.relations(names=names))
        if 'type' in by_kind:
            found.update(self.types(names=[split_key(k) for k in by_kind['type']]))
        if 'func' in by_kind:
            found.update(self.functions(names=[split_key(k) for k in by_kind['func']]))
        if 'schema' in by_kind:
            found.update(self.schemas(names=[split_key(k)[1] for k in by_kind['schema']]))
        if 'ext' in by_kind:
            found.update(self.extensions(names=[split_key(k)[1] for k in by_kind['ext']]))
        if 'member' in by_kind:
            found.update(self.members([split_key(k)[1] for k in by_kind['member']]))
        if 'role' in by_kind:
            found.update(self.roles([split_key(k)[1] for k in by_kind['role']]))
        if 'evttrig' in by_kind:
            found.update(self.event_triggers(names=[split_key(k)[1] for k in by_kind['evttrig']]))
        if 'defacl' in by_kind:
            found.update(self.default_acls())
        if 'db' in by_kind:
            found.update(self.databases([split_key(k)[1] for k in by_kind['db']]))
        return {key: found.get(key) for key in keys}

    def describe_all(self):
        """Every schema object of the database outside the system schemas."""
        found = {}
        found.update(self.schemas())
        found.update(self.relations())
        found.update(self.types())
        found.update(self.functions())
        found.update(self.extensions())
        found.update(self.event_triggers())
        found.update(self.default_acls())
        return found

    def name_filter(self, schema_col, name_col, names):
        if names is None:
            return USER_SCHEMAS, ()
        return (f'({schema_col}, {name_col}) IN (SELECT * FROM unnest(%s::text[], %s::text[]))',
                ([s for s, _ in names], [n for _, n in names]))

    def relations(self, names=None):
        where, params = self.name_filter('n.nspname', 'c.relname', names)
        kinds = "'r','p','v','m','S','f'" if names is None else "'r','p','v','m','S','f','i','I'"
        rel_acl = acl_sql('c.relacl', REL_ACL_KIND, 'c.relowner')
        rel_acl_default = acl_default_sql(REL_ACL_KIND, 'c.relowner', 'c.relnamespace', REL_DEFACL_KIND)
        identity_seq = ("NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass "
                        "AND d.objid = c.oid AND d.deptype = 'i')")
        rows = self.rows(f"""
            SELECT c.oid, n.nspname AS schema, c.relname AS name, c.relkind, c.relpersistence AS persistence,
                   pg_get_userbyid(c.relowner) AS owner, obj_description(c.oid, 'pg_class') AS comment,
                   c.reloptions AS options, c.relreplident AS replica_identity, c.relrowsecurity AS row_security,
                   c.relforcerowsecurity AS force_row_security, c.relispopulated AS populated,
                   pg_get_expr(c.relpartbound, c.oid) AS partition_bound,
                   CASE WHEN c.relkind = 'p' THEN pg_get_partkeydef(c.oid) END AS partition_key,
                   CASE WHEN c.relkind IN ('v', 'm') THEN pg_get_viewdef(c.oid) END AS view_definition,
                   ARRAY(SELECT i.inhparent::regclass::text FROM pg_inherits i WHERE i.inhrelid = c.oid
                         ORDER BY i.inhseqno) AS parents,
                   CASE WHEN c.reloftype <> 0 THEN c.reloftype::regtype::text END AS of_type,
                   CASE WHEN c.relkind IN ('r','p','v','m','f','S') THEN {rel_acl} END AS acl,
                   CASE WHEN c.relkind IN ('r','p','v','m','f','S') THEN {rel_acl_default} END AS acl_default
            FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE c.relkind IN ({kinds}) AND {where} AND {identity_seq}""", params)
        rows = [r for r in rows if (r['schema'], r['name']) not in self.exclude]
        if not rows:
            return {}
        oids = [r['oid'] for r in rows]
        described = {}
        for row in rows:
            oid = row.pop('oid')
            kind = REL_KINDS[row.pop('relkind')]
            desc = dict(row, kind=kind, options=sorted(row['options'] or []))
            if kind not in ('index', 'partitioned index'):
                desc.update(columns=[], constraints={}, indexes={}, triggers={}, policies={}, rules={})
            described[oid] = desc
        self.add_columns(described, oids)
        self.add_constraints(described, oids)
        self.add_indexes(described, oids)
        self.add_triggers(described, oids)
        self.add_policies(described, oids)
        self.add_rules(described, oids)
        self.add_sequences(described, oids)
        self.add_index_details(described, oids)
        return {make_key('rel', d['schema'], d['name']): d for d in described.values()}

    def add_columns(self, described, oids):
        for row in self.rows(f"""
                SELECT a.attrelid, a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type,
                       a.attnotnull AS not_null, pg_get_expr(d.adbin, d.adrelid) AS default,
                       nullif(a.attidentity, '') AS identity, nullif(a.attgenerated, '') AS generated,
                       CASE WHEN a.attcollation <> 0 AND a.attcollation <> t.typcollation
                            THEN format('%%I.%%I', cn.nspname, co.collname) END AS collation,
                       col_description(a.attrelid, a.attnum) AS comment,
                       CASE WHEN a.attacl IS NOT NULL THEN {acl_sql('a.attacl', "'c'", 'c.relowner')} END AS acl
                FROM pg_attribute a
                JOIN pg_class c ON c.oid = a.attrelid
                JOIN pg_type t ON t.oid = a.atttypid
                LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
                LEFT JOIN pg_collation co ON co.oid = a.attcollation
                LEFT JOIN pg_namespace cn ON cn.oid = co.collnamespace
                WHERE a.attrelid = ANY(%s) AND a.attnum > 0 AND NOT a.attisdropped
                  AND c.relkind NOT IN ('i', 'I', 'S')
                ORDER BY a.attrelid, a.attnum""", (oids,)):
            relid = row.pop('attrelid')
            if row['acl'] is None:
                row.pop('acl')
            described[relid]['columns'].append(row)

    def add_constraints(self, described, oids):
        for row in self.rows("""
                SELECT con.conrelid, con.conname AS name, pg_get_constraintdef(con.oid) AS def,
                       con.contype AS type, con.condeferrable AS deferrable, con.condeferred AS deferred,
                       con.convalidated AS validated, obj_description(con.oid, 'pg_constraint') AS comment,
                       ARRAY(SELECT a.attname FROM unnest(con.conkey) WITH ORDINALITY k(num, ord)
                             JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.num
                             ORDER BY k.ord) AS columns
                FROM pg_constraint con WHERE con.conrelid = ANY(%s)""", (oids,)):
            relid = row.pop('conrelid')
            if 'constraints' in described[relid]:
                described[relid]['constraints'][row.pop('name')] = row

    def add_indexes(self, described, oids):
        for row in self.rows("""
                SELECT i.indrelid, ic.relname AS name, pg_get_indexdef(i.indexrelid) AS def,
                       obj_description(i.indexrelid, 'pg_class') AS comment, i.indisclustered AS clustered,
                       i.indisreplident AS replica_identity, con.conname AS constraint
                FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid
                LEFT JOIN pg_constraint con ON con.conindid = i.indexrelid AND con.conrelid = i.indrelid
                     AND con.contype IN ('p', 'u', 'x')
                WHERE i.indrelid = ANY(%s)""", (oids,)):
            relid = row.pop('indrelid')
            if 'indexes' in described[relid]:
                described[relid]['indexes'][row.pop('name')] = row

    def add_index_details(self, described, oids):
        for row in self.rows("""
                SELECT i.indexrelid, i.indrelid::regclass::text AS table, pg_get_indexdef(i.indexrelid) AS def,
                       obj_description(i.indexrelid, 'pg_class') AS comment, i.indisclustered AS clustered,
                       i.indisreplident AS replica_identity, con.conname AS constraint
                FROM pg_index i
                LEFT JOIN pg_constraint con ON con.conindid = i.indexrelid AND con.conrelid = i.indrelid
                     AND con.contype IN ('p', 'u', 'x')
                WHERE i.indexrelid = ANY(%s)""", (oids,)):
            described[row.pop('indexrelid')]['index'] = row

    def add_triggers(self, described, oids):
        for row in self.rows("""
                SELECT tgrelid, tgname AS name, pg_get_triggerdef(oid) AS def, tgenabled AS enabled,
                       obj_description(oid, 'pg_trigger') AS comment
                FROM pg_trigger WHERE tgrelid = ANY(%s) AND NOT tgisinternal""", (oids,)):
            relid = row.pop('tgrelid')
            if 'triggers' in described[relid]:
                described[relid]['triggers'][row.pop('name')] = row

    def add_policies(self, described, oids):
        for row in self.rows("""
                SELECT polrelid, polname AS name, polpermissive AS permissive,
                       CASE polcmd WHEN 'r' THEN 'SELECT' WHEN 'a' THEN 'INSERT' WHEN 'w' THEN 'UPDATE'
                                   WHEN 'd' THEN 'DELETE' ELSE 'ALL' END AS command,
                       ARRAY(SELECT CASE WHEN r = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(r) END
                             FROM unnest(polroles) r ORDER BY 1) AS roles,
                       pg_get_expr(polqual, polrelid) AS using, pg_get_expr(polwithcheck, polrelid) AS check,
                       obj_description(oid, 'pg_policy') AS comment
                FROM pg_policy WHERE polrelid = ANY(%s)""", (oids,)):
            relid = row.pop('polrelid')
            if 'policies' in described[relid]:
                described[relid]['policies'][row.pop('name')] = row

    def add_rules(self, described, oids):
        for row in self.rows("""
                SELECT ev_class, rulename AS name, pg_get_ruledef(oid) AS def, ev_enabled AS enabled
                FROM pg_rewrite WHERE ev_class = ANY(%s) AND rulename <> '_RETURN'""", (oids,)):
            relid = row.pop('ev_class')
            if 'rules' in described[relid]:
                described[relid]['rules'][row.pop('name')] = row

    def add_sequences(self, described, oids):
        for row in self.rows("""
                SELECT s.seqrelid, format_type(s.seqtypid, NULL) AS type, s.seqstart AS start,
                       s.seqincrement AS increment, s.seqmax AS max, s.seqmin AS min, s.seqcache AS cache,
                       s.seqcycle AS cycle,
                       (SELECT format('%%s.%%I', d.refobjid::regclass, a.attname) FROM pg_depend d
                        JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
                        WHERE d.classid = 'pg_class'::regclass AND d.objid = s.seqrelid
                          AND d.refclassid = 'pg_class'::regclass AND d.deptype = 'a' AND d.refobjsubid > 0
                        LIMIT 1) AS owned_by
                FROM pg_sequence s WHERE s.seqrelid = ANY(%s)""", (oids,)):
            relid = row.pop('seqrelid')
            described[relid]['sequence'] = row
            described[relid].pop('columns', None)

    def types(self, names=None):
        where, params = self.name_filter('n.nspname', 't.typname', names)
        extra = '' if names is not None else (
            " AND t.typtype IN ('e','c','d','r') AND (t.typrelid = 0 OR (SELECT relkind FROM pg_class "
            "WHERE oid = t.typrelid) = 'c')")
        rows = self.rows(f"""
            SELECT t.oid, n.nspname AS schema, t.typname AS name, t.typtype,
                   pg_get_userbyid(t.typowner) AS owner, obj_description(t.oid, 'pg_type') AS comment,
                   {acl_sql('t.typacl', "'T'", 't.typowner')} AS acl,
                   {acl_default_sql("'T'", 't.typowner', 't.typnamespace')} AS acl_default,
                   ARRAY(SELECT e.enumlabel::text FROM pg_enum e WHERE e.enumtypid = t.oid
                         ORDER BY e.enumsortorder) AS labels,
                   (SELECT coalesce(json_agg(json_build_object('name', a.attname,
                            'type', format_type(a.atttypid, a.atttypmod)) ORDER BY a.attnum), '[]')
                    FROM pg_attribute a WHERE a.attrelid = t.typrelid AND a.attnum > 0
                      AND NOT a.attisdropped) AS attributes,
                   CASE WHEN t.typtype = 'd' THEN format_type(t.typbasetype, t.typtypmod) END AS base,
                   t.typnotnull AS not_null, t.typdefault AS default,
                   (SELECT format_type(r.rngsubtype, NULL) FROM pg_range r WHERE r.rngtypid = t.oid) AS subtype
            FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
            WHERE {where}{extra}""", params)
        if not rows:
            return {}
        described = {}
        for row in rows:
            oid = row.pop('oid')
            kind = TYPE_KINDS.get(row.pop('typtype'), 'other')
            desc = dict(schema=row['schema'], name=row['name'], kind=kind, owner=row['owner'],
                        comment=row['comment'], acl=row['acl'], acl_default=row['acl_default'])
            if kind == 'enum':
                desc['labels'] = list(row['labels'])
            elif kind == 'composite':
                desc['attributes'] = row['attributes']
            elif kind == 'domain':
                desc.update(base=row['base'], not_null=row['not_null'], default=row['default'], constraints={})
            elif kind == 'range':
                desc['subtype'] = row['subtype']
            described[oid] = desc
        enums = [oid for oid, desc in described.items() if desc['kind'] == 'enum']
        if enums:
            self.add_enum_dependents(described, enums)
        for row in self.rows("""
                SELECT contypid, conname AS name, pg_get_constraintdef(oid) AS def, convalidated AS validated,
                       obj_description(oid, 'pg_constraint') AS comment
                FROM pg_constraint WHERE contypid = ANY(%s)""", (list(described),)):
            typid = row.pop('contypid')
            if 'constraints' in described[typid]:
                described[typid]['constraints'][row.pop('name')] = row
        return {make_key('type', d['schema'], d['name']): d for d in described.values()}

    def add_enum_dependents(self, described, oids):
        """Columns of each enum (or its array) and the views that depend on them, deepest last:
        what putting the enum back to its old labels has to convert, drop and recreate."""
        for row in self.rows("""
                SELECT t.oid, n.nspname AS schema, c.relname AS table, a.attname AS column,
                       a.atttypid = t.typarray AS array, pg_get_expr(d.adbin, d.adrelid) AS default
                FROM pg_type t
                JOIN pg_attribute a ON a.atttypid IN (t.oid, t.typarray) AND a.attnum > 0 AND NOT a.attisdropped
                JOIN pg_class c ON c.oid = a.attrelid AND c.relkind IN ('r', 'p') AND NOT c.relispartition
                JOIN pg_namespace n ON n.oid = c.relnamespace
                LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
                WHERE t.oid = ANY(%s)
                ORDER BY n.nspname, c.relname, a.attnum""", (oids,)):
            described[row.pop('oid')].setdefault('used_by', []).append(row)
        for row in self.rows("""
                WITH RECURSIVE direct AS (
                    SELECT DISTINCT t.oid AS type, r.ev_class AS view
                    FROM pg_type t JOIN pg_depend d ON d.classid = 'pg_rewrite'::regclass
                    JOIN pg_rewrite r ON r.oid = d.objid
                    WHERE t.oid = ANY(%s) AND (
                        (d.refclassid = 'pg_type'::regclass AND d.refobjid IN (t.oid, t.typarray))
                        OR (d.refclassid = 'pg_class'::regclass AND EXISTS (
                            SELECT 1 FROM pg_attribute a WHERE a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
                            AND a.atttypid IN (t.oid, t.typarray))))
                ), tree(type, view, depth) AS (
                    SELECT type, view, 1 FROM direct
                    UNION ALL
                    SELECT tree.type, r.ev_class, tree.depth + 1
                    FROM tree JOIN pg_depend d ON d.refclassid = 'pg_class'::regclass AND d.refobjid = tree.view
                        AND d.classid = 'pg_rewrite'::regclass
                    JOIN pg_rewrite r ON r.oid = d.objid
                    WHERE r.ev_class <> tree.view AND tree.depth < 20
                )
                SELECT tree.type, n.nspname AS schema, c.relname AS name, max(tree.depth) AS depth
                FROM tree JOIN pg_class c ON c.oid = tree.view JOIN pg_namespace n ON n.oid = c.relnamespace
                WHERE c.relkind IN ('v', 'm')
                GROUP BY tree.type, n.nspname, c.relname
                ORDER BY max(tree.depth), n.nspname, c.relname""", (oids,)):
            described[row['type']].setdefault('dependent_views', []).append(
                make_key('rel', row['schema'], row['name']))

    def functions(self, names=None):
        where, params = self.name_filter('n.nspname', 'p.proname', names)
        rows = self.rows(f"""
            SELECT n.nspname AS schema, p.proname AS name, oidvectortypes(p.proargtypes) AS args,
                   p.prokind AS kind, CASE WHEN p.prokind <> 'a' THEN pg_get_functiondef(p.oid) END AS def,
                   pg_get_function_result(p.oid) AS result, pg_get_userbyid(p.proowner) AS owner,
                   obj_description(p.oid, 'pg_proc') AS comment,
                   {acl_sql('p.proacl', "'f'", 'p.proowner')} AS acl,
                   {acl_default_sql("'f'", 'p.proowner', 'p.pronamespace')} AS acl_default
            FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE {where}""", params)
        found = {}
        for row in rows:
            key = make_key('func', row['schema'], row['name'])
            entry = found.setdefault(key, dict(schema=row['schema'], name=row['name'], overloads={}))
            entry['overloads'][row['args']] = {k: row[k] for k in
                                               ('kind', 'def', 'result', 'owner', 'comment', 'acl', 'acl_default')}
        return found

    def schemas(self, names=None):
        where = USER_SCHEMAS if names is None else 'n.nspname = ANY(%s)'
        rows = self.rows(f"""
            SELECT n.nspname AS name, pg_get_userbyid(n.nspowner) AS owner,
                   obj_description(n.oid, 'pg_namespace') AS comment,
                   {acl_sql('n.nspacl', "'n'", 'n.nspowner')} AS acl,
                   {acl_default_sql("'n'", 'n.nspowner')} AS acl_default
            FROM pg_namespace n WHERE {where}""", (names,) if names is not None else None)
        return {make_key('schema', None, r['name']): r for r in rows}

    def extensions(self, names=None):
        where = 'TRUE' if names is None else 'e.extname = ANY(%s)'
        rows = self.rows(f"""
            SELECT e.extname AS name, e.extversion AS version, n.nspname AS schema
            FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE {where}""",
                         (names,) if names is not None else None)
        return {make_key('ext', None, r['name']): r for r in rows}

    def event_triggers(self, names=None):
        where = 'TRUE' if names is None else 'evtname = ANY(%s)'
        rows = self.rows(f"""
            SELECT evtname AS name, evtevent AS event, pg_get_userbyid(evtowner) AS owner,
                   evtfoid::regproc::text AS function, evtenabled AS enabled, evttags AS tags
            FROM pg_event_trigger WHERE {where}""", (names,) if names is not None else None)
        return {make_key('evttrig', None, r['name']): r for r in rows}

    def default_acls(self):
        rows = self.rows(f"""
            SELECT pg_get_userbyid(d.defaclrole) AS role, coalesce(n.nspname, '') AS schema,
                   d.defaclobjtype AS objtype, {acl_sql('d.defaclacl', 'd.defaclobjtype', 'd.defaclrole')} AS acl
            FROM pg_default_acl d LEFT JOIN pg_namespace n ON n.oid = d.defaclnamespace
            ORDER BY 1, 2, 3""")
        return {make_key('defacl', None, 'all'): {'entries': rows}}

    def members(self, names):
        rows = self.rows("""
            SELECT r.rolname AS name, ARRAY(SELECT pg_get_userbyid(m.member)
                   || CASE WHEN m.admin_option THEN '+admin' ELSE '' END
                   FROM pg_auth_members m WHERE m.roleid = r.oid ORDER BY 1) AS members
            FROM pg_roles r WHERE r.rolname = ANY(%s)""", (names,))
        return {make_key('member', None, r['name']): {'members': list(r['members'])} for r in rows}

    def roles(self, names):
        rows = self.rows("""SELECT rolname AS name, rolcanlogin AS login, rolsuper AS superuser
                            FROM pg_roles WHERE rolname = ANY(%s)""", (names,))
        return {make_key('role', None, r['name']): r for r in rows}

    def databases(self, names):
        rows = self.rows(f"""
            SELECT d.datname AS name, pg_get_userbyid(d.datdba) AS owner,
                   {acl_sql('d.datacl', "'d'", 'd.datdba')} AS acl
            FROM pg_database d WHERE d.datname = ANY(%s)""", (names,))
        return {make_key('db', None, r['name']): r for r in rows}
