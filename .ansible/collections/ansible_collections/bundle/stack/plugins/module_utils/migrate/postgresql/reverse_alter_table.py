# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Reverse rules for ALTER TABLE, one method per subcommand, sharing one AlterCommand."""

from __future__ import annotations

from dataclasses import dataclass

from ansible_collections.bundle.stack.plugins.module_utils.migrate.postgresql.restore import (
    column_sql,
    comment_sql,
)
from ansible_collections.bundle.stack.plugins.module_utils.migrate.postgresql.sql import (
    absent,
    column_of,
    enums,
    literal,
    qi,
    qn,
    rv_parts,
    rv_ref,
)
from ansible_collections.bundle.stack.plugins.module_utils.migrate.postgresql.type_changes import (
    is_widening,
    parse_type,
    plain_cast_of,
    time_zone_of,
)
from ansible_collections.bundle.stack.plugins.module_utils.migrate.reverse import (
    UNKNOWN,
    Ref,
    existed,
    unsupported,
)


@dataclass(frozen=True)
class AlterCommand:
    """One subcommand of an ALTER TABLE and what every reverse rule of it reads.

    target is the statement's object as written after ALTER (`TABLE app.users`,
    `TYPE app.pair`); before and after are its snapshot descriptions around the
    statement (UNKNOWN without a snapshot); created: the migration created it itself.
    """

    stmt: object
    cmd: object
    target: str
    ref: object
    state: object
    before: object
    after: object
    created: bool


class AlterTableReverses:
    """ALTER TABLE (and ALTER TYPE/VIEW/INDEX/SEQUENCE of the same grammar), last subcommand first."""

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
            subtype = enums.AlterTableType(cmd.subtype).name[3:]
            handler = getattr(self, 'alter_' + subtype, None)
            if handler is None:
                raise unsupported(f'no reverse rule for ALTER ... {subtype}; write a -- migrate:down section')
            statements.extend(handler(AlterCommand(stmt, cmd, target, ref, state, before, state.after(ref), created)))
        return statements

    def alter_AddColumn(self, alter):
        name = alter.cmd.def_.colname
        if alter.cmd.missing_ok and existed(column_of(alter.before, name)):
            return []
        word = 'ATTRIBUTE' if alter.target.startswith('TYPE ') else 'COLUMN'
        return [f'ALTER {alter.target} DROP {word} {qi(name)}']

    def alter_DropColumn(self, alter):
        column = column_of(alter.before, alter.cmd.name)
        if alter.cmd.missing_ok and column is None:
            return []
        if alter.created:
            return []
        if alter.target.startswith('TYPE '):
            raise unsupported(f'{alter.target} DROP ATTRIBUTE {qi(alter.cmd.name)}: no reverse rule')
        restore = []
        if existed(column):
            restore = [f'ALTER {alter.target} ADD COLUMN {column_sql(dict(column, not_null=False))}']
            restore += self.restore_lost_parts(alter)
        table = alter.target.split(' ', 1)[1]
        return self.destroys(alter.stmt, f'drops column {qi(alter.cmd.name)} of {table} and every value in it', restore)

    def restore_lost_parts(self, alter):
        """Constraints and indexes a DROP took along with it, recreated from before."""
        if not existed(alter.before) or not existed(alter.after):
            return []
        statements = []
        for name, con in alter.before.get('constraints', {}).items():
            if name not in alter.after.get('constraints', {}):
                statements.append(f"ALTER {alter.target} ADD CONSTRAINT {qi(name)} {con['def']}")
        for name, index in alter.before.get('indexes', {}).items():
            if name not in alter.after.get('indexes', {}) and not index.get('constraint'):
                statements.append(index['def'])
        return statements

    def alter_ColumnDefault(self, alter):
        column = self.need(column_of(alter.before, alter.cmd.name),
                           f'column {alter.cmd.name} of {alter.target} before the statement')
        if column is None:
            raise unsupported(f'column {alter.cmd.name} of {alter.target} is not in the snapshot')
        if column.get('default') is None:
            return [f'ALTER {alter.target} ALTER COLUMN {qi(alter.cmd.name)} DROP DEFAULT']
        return [f"ALTER {alter.target} ALTER COLUMN {qi(alter.cmd.name)} SET DEFAULT {column['default']}"]

    def not_null(self, alter, set_now):
        column = column_of(alter.before, alter.cmd.name)
        if column is UNKNOWN:
            was = not set_now  # no snapshot: assume the statement changed it
        elif column is None:
            raise unsupported(f'column {alter.cmd.name} of {alter.target} is not in the snapshot')
        else:
            was = bool(column.get('not_null'))
        if was == set_now:
            return []
        return [f"ALTER {alter.target} ALTER COLUMN {qi(alter.cmd.name)} {'SET' if was else 'DROP'} NOT NULL"]

    def alter_SetNotNull(self, alter):
        return self.not_null(alter, True)

    def alter_DropNotNull(self, alter):
        return self.not_null(alter, False)

    def alter_AlterColumnType(self, alter):
        name = alter.cmd.name
        old = self.need(column_of(alter.before, name),
                        f'the type of column {name} of {alter.target} before the statement')
        new = self.need(column_of(alter.after, name),
                        f'the type of column {name} of {alter.target} after the statement')
        if old is None or new is None:
            raise unsupported(f'column {name} of {alter.target} is not in the snapshot')
        using = alter.cmd.def_.raw_default
        restore = [f"ALTER {alter.target} ALTER COLUMN {qi(name)} TYPE {old['type']}"
                   + (f" COLLATE {old['collation']}" if old.get('collation') else '')
                   + f" USING {qi(name)}::{old['type']}"]
        if old.get('default') is not None and old.get('default') != new.get('default'):
            restore.append(f"ALTER {alter.target} ALTER COLUMN {qi(name)} SET DEFAULT {old['default']}")
        if alter.target.startswith('TYPE '):
            restore = [f"ALTER {alter.target} ALTER ATTRIBUTE {qi(name)} TYPE {old['type']}"]
        zone = time_zone_of(using, name) if using is not None else None
        kinds = {parse_type(old['type'])[0], parse_type(new['type'])[0]}
        if zone is not None and kinds == {'timestamp', 'timestamptz'}:
            # AT TIME ZONE converts between the two without loss; the same zone converts back.
            restore[0] = (f"ALTER {alter.target} ALTER COLUMN {qi(name)} TYPE {old['type']} "
                          f"USING {qi(name)} AT TIME ZONE {literal(zone)}")
            return restore
        if alter.created:
            return restore
        lossless = is_widening(old['type'], new['type']) and (using is None or plain_cast_of(using, name))
        if not lossless:
            how = 'with a USING expression' if using is not None and not plain_cast_of(using, name) else 'narrowing'
            table = alter.target.split(' ', 1)[1]
            return self.destroys(alter.stmt, f"changes column {qi(name)} of {table} from {old['type']} "
                                             f"to {new['type']} ({how}): values may have been cut or rounded", restore)
        return restore

    def alter_AddConstraint(self, alter):
        con = alter.cmd.def_
        if con.conname:
            names = [con.conname]
        else:
            b = self.need(alter.before, f'the constraints of {alter.target} before the statement')
            a = self.need(alter.after, f'the constraints of {alter.target} after the statement')
            names = sorted(set(a.get('constraints', {})) - set(b.get('constraints', {})))
            if not names:
                raise unsupported(f'cannot find the constraint this statement added to {alter.target}')
        statements = [f'ALTER {alter.target} DROP CONSTRAINT {qi(n)}' for n in names]
        if con.indexname:
            # ADD CONSTRAINT ... USING INDEX took over (and renamed) an existing index.
            b = self.need(alter.before, f'index {con.indexname} before the statement')
            index = b.get('indexes', {}).get(con.indexname)
            if index is None:
                raise unsupported(f'index {con.indexname} is not in the snapshot')
            statements.append(index['def'])
        return statements

    def alter_DropConstraint(self, alter):
        if alter.created:
            return []
        b = self.need(alter.before, f'constraint {alter.cmd.name} of {alter.target} before the statement')
        con = (b or {}).get('constraints', {}).get(alter.cmd.name)
        if con is None:
            if alter.cmd.missing_ok:
                return []
            raise unsupported(f'constraint {alter.cmd.name} of {alter.target} is not in the snapshot')
        if alter.cmd.behavior == enums.DropBehavior.DROP_CASCADE:
            raise unsupported(f'DROP CONSTRAINT {alter.cmd.name} CASCADE may drop constraints of other tables')
        statements = [f"ALTER {alter.target} ADD CONSTRAINT {qi(alter.cmd.name)} {con['def']}"]
        if con.get('comment') is not None:
            statements.append(comment_sql('CONSTRAINT', f"{qi(alter.cmd.name)} ON {alter.target.split(' ', 1)[1]}",
                                          con['comment']))
        return statements

    def alter_AlterConstraint(self, alter):
        name = alter.cmd.def_.conname
        b = self.need(alter.before, f'constraint {name} of {alter.target}')
        con = b.get('constraints', {}).get(name)
        if con is None:
            raise unsupported(f'constraint {name} of {alter.target} is not in the snapshot')
        deferrable = 'DEFERRABLE' if con.get('deferrable') else 'NOT DEFERRABLE'
        initially = 'INITIALLY DEFERRED' if con.get('deferred') else 'INITIALLY IMMEDIATE'
        return [f'ALTER {alter.target} ALTER CONSTRAINT {qi(name)} {deferrable} {initially}']

    def alter_ValidateConstraint(self, alter):
        b = self.need(alter.before, f'constraint {alter.cmd.name} of {alter.target}')
        con = b.get('constraints', {}).get(alter.cmd.name)
        if con is None:
            raise unsupported(f'constraint {alter.cmd.name} of {alter.target} is not in the snapshot')
        if con.get('validated', True):
            return []
        return [f'ALTER {alter.target} DROP CONSTRAINT {qi(alter.cmd.name)}',
                f"ALTER {alter.target} ADD CONSTRAINT {qi(alter.cmd.name)} {con['def']}"]

    def alter_ChangeOwner(self, alter):
        b = self.need(alter.before, f'the owner of {alter.target}')
        return [f"ALTER {alter.target} OWNER TO {qi(b['owner'])}"]

    def alter_options(self, alter):
        b = self.need(alter.before, f'the storage options of {alter.target}')
        a = self.need(alter.after, f'the storage options of {alter.target}')
        old = dict(o.split('=', 1) for o in b.get('options') or [])
        new = dict(o.split('=', 1) for o in a.get('options') or [])
        statements = []
        gone = sorted(set(new) - set(old))
        if gone:
            statements.append(f"ALTER {alter.target} RESET ({', '.join(gone)})")
        changed = [f'{k}={v}' for k, v in sorted(old.items()) if new.get(k) != v]
        if changed:
            statements.append(f"ALTER {alter.target} SET ({', '.join(changed)})")
        return statements

    def alter_SetRelOptions(self, alter):
        return self.alter_options(alter)

    alter_ResetRelOptions = alter_SetRelOptions

    def row_security(self, alter, field_name, on, off):
        b = self.need(alter.before, f'the row security flags of {alter.target}')
        return [f'ALTER {alter.target} {on if b.get(field_name) else off}']

    def alter_EnableRowSecurity(self, alter):
        if alter.before is UNKNOWN:
            return [f'ALTER {alter.target} DISABLE ROW LEVEL SECURITY']
        return self.row_security(alter, 'row_security', 'ENABLE ROW LEVEL SECURITY',
                                 'DISABLE ROW LEVEL SECURITY')

    alter_DisableRowSecurity = alter_EnableRowSecurity

    def alter_ForceRowSecurity(self, alter):
        if alter.before is UNKNOWN:
            return [f'ALTER {alter.target} NO FORCE ROW LEVEL SECURITY']
        return self.row_security(alter, 'force_row_security', 'FORCE ROW LEVEL SECURITY',
                                 'NO FORCE ROW LEVEL SECURITY')

    alter_NoForceRowSecurity = alter_ForceRowSecurity

    def trigger_toggle(self, alter):
        name = alter.cmd.name
        if alter.before is UNKNOWN:
            raise unsupported(f'the snapshot does not hold the state of trigger {name} on {alter.target}')
        trigger = alter.before.get('triggers', {}).get(name)
        if trigger is None:
            raise unsupported(f'trigger {name} of {alter.target} is not in the snapshot')
        word = {'O': 'ENABLE', 'D': 'DISABLE', 'R': 'ENABLE REPLICA', 'A': 'ENABLE ALWAYS'}[trigger['enabled']]
        return [f'ALTER {alter.target} {word} TRIGGER {qi(name)}']

    def alter_EnableTrig(self, alter):
        return self.trigger_toggle(alter)

    alter_DisableTrig = alter_EnableAlwaysTrig = alter_EnableReplicaTrig = alter_EnableTrig

    def alter_EnableTrigAll(self, alter):
        return [f'ALTER {alter.target} DISABLE TRIGGER ALL']

    def alter_DisableTrigAll(self, alter):
        return [f'ALTER {alter.target} ENABLE TRIGGER ALL']

    def alter_EnableTrigUser(self, alter):
        return [f'ALTER {alter.target} DISABLE TRIGGER USER']

    def alter_DisableTrigUser(self, alter):
        return [f'ALTER {alter.target} ENABLE TRIGGER USER']

    def alter_ReplicaIdentity(self, alter):
        b = self.need(alter.before, f'the replica identity of {alter.target}')
        identity = b.get('replica_identity', 'd')
        if identity == 'i':
            index = next(n for n, i in b.get('indexes', {}).items() if i.get('replica_identity'))
            return [f'ALTER {alter.target} REPLICA IDENTITY USING INDEX {qi(index)}']
        return [f"ALTER {alter.target} REPLICA IDENTITY {dict(d='DEFAULT', n='NOTHING', f='FULL')[identity]}"]

    def alter_SetLogged(self, alter):
        return [f'ALTER {alter.target} SET UNLOGGED']

    def alter_SetUnLogged(self, alter):
        return [f'ALTER {alter.target} SET LOGGED']

    def alter_AddInherit(self, alter):
        return [f'ALTER {alter.target} NO INHERIT {qn(*rv_parts(alter.cmd.def_))}']

    def alter_DropInherit(self, alter):
        return [f'ALTER {alter.target} INHERIT {qn(*rv_parts(alter.cmd.def_))}']

    def alter_AttachPartition(self, alter):
        part = rv_ref(alter.cmd.def_.name)
        statements = [f'ALTER {alter.target} DETACH PARTITION {qn(*rv_parts(alter.cmd.def_.name))}']
        # Attaching creates the partitioned table's indexes on the partition; detaching leaves them.
        old, new = alter.state.before(part), alter.state.after(part)
        if existed(old) and existed(new):
            schema = alter.state.resolved(part)[0]
            for name in sorted(set(new.get('indexes', {})) - set(old.get('indexes', {}))):
                statements.append(f'DROP INDEX {qn(schema, name)}')
        return statements

    def alter_DetachPartition(self, alter):
        part = rv_ref(alter.cmd.def_.name)
        desc = self.need(alter.state.before(part), f'the partition bound of {part}')
        partition = qn(*rv_parts(alter.cmd.def_.name))
        return [f"ALTER {alter.target} ATTACH PARTITION {partition} {desc['partition_bound']}"]

    def alter_AddIdentity(self, alter):
        return [f'ALTER {alter.target} ALTER COLUMN {qi(alter.cmd.name)} DROP IDENTITY']

    def alter_DropIdentity(self, alter):
        column = self.need(column_of(alter.before, alter.cmd.name), f'column {alter.cmd.name} of {alter.target}')
        if column is None or not column.get('identity'):
            return []
        how = 'ALWAYS' if column['identity'] == 'a' else 'BY DEFAULT'
        return [f'ALTER {alter.target} ALTER COLUMN {qi(alter.cmd.name)} ADD GENERATED {how} AS IDENTITY']

    def alter_ClusterOn(self, alter):
        b = self.need(alter.before, f'the clustered index of {alter.target}')
        index = next((n for n, i in b.get('indexes', {}).items() if i.get('clustered')), None)
        if index:
            return [f'ALTER {alter.target} CLUSTER ON {qi(index)}']
        return [f'ALTER {alter.target} SET WITHOUT CLUSTER']

    alter_DropCluster = alter_ClusterOn
