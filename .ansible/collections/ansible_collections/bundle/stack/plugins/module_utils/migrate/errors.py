# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The error the migration flows raise for the operator, and how SQL is quoted in its messages."""

from __future__ import annotations


class MigrationError(Exception):
    """A failure with a message meant for the operator; extra keys go to the result."""

    def __init__(self, msg, **extra):
        super().__init__(msg)
        self.msg = msg
        self.extra = extra


def excerpt(sql, width=200):
    """One line of SQL for a message, cut at width."""
    text = ' '.join(sql.split())
    return text if len(text) <= width else text[:width - 3] + '...'
