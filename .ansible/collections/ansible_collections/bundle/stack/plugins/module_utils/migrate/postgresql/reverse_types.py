# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Reverse rules for types, domains, enums, aggregates, collations and casts."""

from __future__ import annotations

from ansible_collections.bundle.stack.plugins.module_utils.migrate.postgresql.restore import (
    recreate_enum,
)
from ansible_collections.bundle.stack.plugins.module_utils.migrate.postgresql.sql import (
    deparse,
    enums,
    literal,
    qi,
    qn,
    rv_parts,
    strings,
)
from ansible_collections.bundle.stack.plugins.module_utils.migrate.reverse import (
    Ref,
    existed,
    unsupported,
)


class TypeReverses:
    """CREATE/ALTER of types and domains."""

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

    def reverse_CreateCastStmt(self, stmt, node, state):
        return [f'DROP CAST ({deparse(node.sourcetype)} AS {deparse(node.targettype)})']
