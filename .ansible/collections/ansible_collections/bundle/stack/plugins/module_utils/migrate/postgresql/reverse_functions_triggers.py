# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Reverse rules for functions, procedures, triggers, policies and rules."""

from __future__ import annotations

from ansible_collections.bundle.stack.plugins.module_utils.migrate.postgresql.restore import (
    comment_sql,
    function_word,
    grantee_sql,
    restore_function,
    strip_semicolon,
    trigger_state_sql,
)
from ansible_collections.bundle.stack.plugins.module_utils.migrate.postgresql.sql import (
    func_ref,
    in_arg_types,
    qi,
    qn,
    rv_parts,
    rv_ref,
    strings,
)
from ansible_collections.bundle.stack.plugins.module_utils.migrate.reverse import (
    UNKNOWN,
    Ref,
    unsupported,
)


class FunctionTriggerReverses:
    """Routines and what hangs off a table by name: triggers, policies, rules."""

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
