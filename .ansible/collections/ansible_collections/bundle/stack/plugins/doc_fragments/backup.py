# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Connection and file options that db_backup and db_restore share (the engines
apply their defaults: backup/engines/<engine>.py)."""

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r'''
options:
  login_user:
    description:
      - User to connect as. V(postgresql) defaults to V(postgres) (through the socket with
        peer authentication, as the postgresql role sets up for root); V(mysql) to V(root)
        (unix_socket authentication on Debian).
    type: str
  login_password:
    description:
      - Password of O(login_user), or the Redis password (C(AUTH)). Never logged; passed to
        the tools through the environment (C(PGPASSWORD), C(MYSQL_PWD), C(REDISCLI_AUTH)).
    type: str
  login_host:
    description:
      - V(redis) only. Host of the Redis server. Defaults to V(127.0.0.1).
    type: str
  login_unix_socket:
    description:
      - Socket to connect through. V(postgresql) defaults to the directory V(/var/run/postgresql);
        V(mysql) to V(/run/mysqld/mysqld.sock).
    type: str
  port:
    description:
      - Server port. Defaults to V(5432), V(3306) or V(6379).
    type: int
  bin_dir:
    description:
      - Directory of the client tools, for example V(/usr/lib/postgresql/15/bin).
        Defaults to the tools found on C(PATH).
    type: path
  data_dir:
    description:
      - V(redis) only. The server's data directory (C(dir) of redis.conf). Defaults to V(/var/lib/redis).
    type: path
  rdb_filename:
    description:
      - V(redis) only. The server's RDB file name (C(dbfilename)). Defaults to V(dump.rdb).
    type: str
'''
