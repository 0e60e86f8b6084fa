# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""redis engine of db_backup and db_restore.

Backup: BGSAVE, wait until it has finished (rdb_bgsave_in_progress:0 and a
LASTSAVE newer than before) and succeeded, then copy the RDB file (Redis
writes it to a temporary file and renames it, so the copy is one complete
snapshot) and, with AOF on, the append-only files. The key count comes from
the copied RDB itself (redis-check-rdb), so it is what the backup holds.

Restore: the RDB is the truth. The server is stopped, the data files are moved
aside, the RDB is put in place and, with AOF on, an append-only base is built
from it (Redis 7: appendonlydir with the RDB as base and a manifest; older: the
RDB as appendonly.aof, which Redis reads as an RDB preamble), then the server is
started and its keys counted. On any failure the previous files are put back.
"""

from __future__ import annotations

import os
import re
import shutil
import time

from ansible_collections.bundle.stack.plugins.module_utils.backup.engine import BackupEngine, BackupError, Steps

BACKUP_SPEC = dict(
    data_dir=dict(type='path'),
    rdb_filename=dict(type='str'),
    timeout=dict(type='int'),
)
RESTORE_SPEC = dict(
    data_dir=dict(type='path'),
    rdb_filename=dict(type='str'),
    unit=dict(type='str'),
    timeout=dict(type='int'),
)
# Debian's layout. The files are found from these options, not CONFIG GET: the
# redis role takes CONFIG away from every client user.
DEFAULTS = dict(login_host='127.0.0.1', port=6379, unit='redis-server', timeout=300, data_dir='/var/lib/redis',
                rdb_filename='dump.rdb')
OPTIONS = ('login_user', 'login_password', 'login_host', 'port', 'bin_dir', 'unit', 'timeout', 'data_dir',
           'rdb_filename')
# Redis 7 keeps a multi-part AOF in this directory of data_dir; older ones one file.
AOF_DIRNAME = 'appendonlydir'
AOF_FILENAME = 'appendonly.aof'

RDB_FILE = 'dump.rdb'
AOF_DIR = 'aof'
CHECK_RDB_KEYS = re.compile(r'\[info\] (\d+) keys read')
CHECK_RDB_EXPIRED = re.compile(r'\[info\] (\d+) already expired')
CHECK_RDB_EXPIRES = re.compile(r'\[info\] (\d+) expires')
KEYSPACE_LINE = re.compile(r'^db(\d+):keys=(\d+)')


def parse_info(text):
    """INFO output as a dict of strings (section headers and blank lines skipped)."""
    info = {}
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith('#') and ':' in line:
            key, _, value = line.partition(':')
            info[key] = value
    return info


def keyspace_keys(text):
    """Total keys of an INFO keyspace output."""
    total = 0
    for line in text.splitlines():
        match = KEYSPACE_LINE.match(line.strip())
        if match:
            total += int(match.group(2))
    return total


def parse_check_rdb(text):
    """(keys read, keys with a TTL, keys already expired) from redis-check-rdb output."""
    keys = CHECK_RDB_KEYS.search(text)
    if not keys or 'RDB looks OK' not in text:
        raise BackupError(f"redis-check-rdb did not accept the copied RDB: {' '.join(text.split())[-500:]}")
    expires = CHECK_RDB_EXPIRES.search(text)
    expired = CHECK_RDB_EXPIRED.search(text)
    return int(keys.group(1)), int(expires.group(1)) if expires else 0, int(expired.group(1)) if expired else 0


def aof_manifest(base_name):
    """Redis 7 multi-part AOF manifest with one base file and no increments."""
    return f'file {base_name} seq 1 type b\n'


def expected_keys_match(manifest, restored):
    """Keys with a TTL may expire between backup and restore: the restored count
    must lie between keys-with-TTL-gone and all keys."""
    details = manifest['details']
    keys = manifest['row_counts']['keys']
    return keys - details.get('expires', 0) <= restored <= keys


class RedisEngine(BackupEngine):
    name = 'redis'
    backup_spec = BACKUP_SPEC
    restore_spec = RESTORE_SPEC
    defaults = DEFAULTS
    options = OPTIONS
    requires_database = False
    default_database = 'redis'

    def check(self, module, params):
        self.cli(module, params)

    def cli(self, module, params, name='redis-cli'):
        if params.get('bin_dir'):
            path = os.path.join(params['bin_dir'], name)
            if os.access(path, os.X_OK):
                return path
        else:
            path = module.get_bin_path(name)
            if path:
                return path
        raise BackupError(f'{name} not found; install redis-tools or set bin_dir')

    def command(self, module, params, *words):
        argv = [self.cli(module, params), '-h', params['login_host'], '-p', str(params['port'])]
        if params.get('login_user'):
            argv += ['--user', params['login_user']]
        argv += list(words)
        # The password goes through the environment, never the command line.
        environ = {'REDISCLI_AUTH': params['login_password']} if params.get('login_password') else {}
        rc, out, err = module.run_command(argv, environ_update=environ, handle_exceptions=False)
        if rc != 0 or out.startswith(('ERR', 'NOAUTH', 'WRONGPASS', 'NOPERM')) or 'Could not connect' in err:
            raise BackupError(f"redis-cli {' '.join(words)} failed (rc={rc}): {' '.join((out + err).split())[:500]}")
        return out

    def files(self, module, params):
        """Where the server keeps its data: dir, RDB file, AOF on or off and its file or directory."""
        directory = params['data_dir']
        info = parse_info(self.command(module, params, 'INFO', 'persistence'))
        server = parse_info(self.command(module, params, 'INFO', 'server'))
        version = server.get('redis_version', '')
        major = int(version.split('.')[0]) if version.split('.')[0].isdigit() else 0
        return dict(dir=directory, rdb=os.path.join(directory, params['rdb_filename']),
                    aof_enabled=info.get('aof_enabled') == '1', aof_file=AOF_FILENAME,
                    aof_dir=os.path.join(directory, AOF_DIRNAME) if major >= 7 else None, version=version)

    # backup ------------------------------------------------------------------------

    def backup_commands(self, module, params, workdir):
        return ['redis-cli BGSAVE', 'wait for rdb_bgsave_in_progress:0 and a newer LASTSAVE',
                f'copy the RDB (and the AOF files when on) to {workdir}',
                f'redis-check-rdb {workdir}/{RDB_FILE}']

    def describe(self, module, params):
        return dict(server_version=self.files(module, params)['version'])

    def wait_for_save(self, module, params, since, deadline):
        while True:
            info = parse_info(self.command(module, params, 'INFO', 'persistence'))
            if info.get('rdb_bgsave_in_progress') == '0' and int(info.get('rdb_last_save_time', 0)) > since:
                if info.get('rdb_last_bgsave_status') != 'ok':
                    raise BackupError(f"BGSAVE failed: rdb_last_bgsave_status={info.get('rdb_last_bgsave_status')}")
                return
            if time.monotonic() > deadline:
                raise BackupError(f"BGSAVE did not finish within {params['timeout']} s")
            time.sleep(0.1)

    def backup(self, module, params, workdir):
        deadline = time.monotonic() + params['timeout']
        files = self.files(module, params)
        info = parse_info(self.command(module, params, 'INFO', 'persistence'))
        since = int(info.get('rdb_last_save_time', 0))
        # LASTSAVE has a one-second resolution: start in a later second than the last save.
        while int(time.time()) <= since:
            time.sleep(0.05)
        while True:
            answer = self.command(module, params, 'BGSAVE').strip()
            if 'started' in answer or 'scheduled' in answer:
                break
            if time.monotonic() > deadline:
                raise BackupError(f'BGSAVE was not accepted within {params["timeout"]} s: {answer}')
            time.sleep(0.1)
        self.wait_for_save(module, params, since, deadline)
        shutil.copyfile(files['rdb'], os.path.join(workdir, RDB_FILE))
        if files['aof_enabled']:
            source = files['aof_dir'] if files['aof_dir'] and os.path.isdir(files['aof_dir']) \
                else os.path.join(files['dir'], files['aof_file'])
            if os.path.isdir(source):
                shutil.copytree(source, os.path.join(workdir, AOF_DIR))
            elif os.path.exists(source):
                os.makedirs(os.path.join(workdir, AOF_DIR))
                shutil.copyfile(source, os.path.join(workdir, AOF_DIR, os.path.basename(source)))
        check = self.cli(module, params, 'redis-check-rdb')
        rc, out, err = module.run_command([check, os.path.join(workdir, RDB_FILE)], handle_exceptions=False)
        keys, expires, expired = parse_check_rdb(out + err)
        tool_version = module.run_command([self.cli(module, params), '--version'])[1].strip()
        return dict(server_version=files['version'], tool_version=tool_version, row_counts={'keys': keys},
                    row_count_method='keys read from the copied RDB by redis-check-rdb',
                    commands=self.backup_commands(module, params, workdir),
                    details=dict(rdb=RDB_FILE, aof=AOF_DIR if files['aof_enabled'] else None,
                                 expires=expires, already_expired=expired))

    # restore -----------------------------------------------------------------------

    def target_exists(self, module, params, target):
        return keyspace_keys(self.command(module, params, 'INFO', 'keyspace')) > 0

    def restore_commands(self, module, params, request):
        if request.verify_only:
            raise BackupError('mode=verify is not available for redis: a restore replaces the whole dataset')
        return [f"systemctl stop {params['unit']}", 'move the current RDB and AOF files aside',
                f'put {request.path}/{RDB_FILE} in place (and an AOF base built from it when AOF is on)',
                f"systemctl start {params['unit']}, wait until loaded, count keys",
                'on failure: put the previous files back and start again']

    def _systemctl(self, module, action, unit):
        rc, out, err = module.run_command([module.get_bin_path('systemctl', required=True), action, unit])
        if rc != 0:
            raise BackupError(f"systemctl {action} {unit} failed: {' '.join((out + err).split())[:500]}")

    def _wait_loaded(self, module, params, deadline):
        while True:
            try:
                info = parse_info(self.command(module, params, 'INFO', 'persistence'))
                if info.get('loading') == '0':
                    return
            except BackupError:
                if time.monotonic() > deadline:
                    raise
            if time.monotonic() > deadline:
                raise BackupError(f"the server did not finish loading within {params['timeout']} s")
            time.sleep(0.2)

    def restore(self, module, params, request):
        steps = Steps()
        files = self.files(module, params)
        stat = os.stat(files['dir'])
        aside = os.path.join(files['dir'], f'.before-restore-{int(time.time())}')
        moved = []
        self._systemctl(module, 'stop', params['unit'])
        steps.mark('stop')
        try:
            os.mkdir(aside, 0o700)
            for source in (files['rdb'], files['aof_dir'], os.path.join(files['dir'], files['aof_file'])):
                if source and os.path.lexists(source):
                    os.rename(source, os.path.join(aside, os.path.basename(source)))
                    moved.append(source)
            self._place(request.path, files, stat)
            steps.mark('files')
            self._systemctl(module, 'start', params['unit'])
            self._wait_loaded(module, params, time.monotonic() + params['timeout'])
            steps.mark('start')
            restored = keyspace_keys(self.command(module, params, 'INFO', 'keyspace'))
            manifest = request.manifest
            counts = {'keys': manifest['row_counts']['keys'] if expected_keys_match(manifest, restored) else restored}
            request.compare(counts)
        except BaseException:
            self._systemctl(module, 'stop', params['unit'])
            for source in (files['rdb'], files['aof_dir'], os.path.join(files['dir'], files['aof_file'])):
                if source and os.path.isdir(source) and source not in moved:
                    shutil.rmtree(source)
                elif source and os.path.lexists(source) and source not in moved:
                    os.unlink(source)
            for source in moved:
                os.rename(os.path.join(aside, os.path.basename(source)), source)
            self._systemctl(module, 'start', params['unit'])
            raise
        shutil.rmtree(aside, ignore_errors=True)
        return dict(row_counts={'keys': restored}, steps=steps.seconds, commands=[])

    def _place(self, path, files, stat):
        def own(target):
            os.chown(target, stat.st_uid, stat.st_gid)
        shutil.copyfile(os.path.join(path, RDB_FILE), files['rdb'])
        own(files['rdb'])
        if files['aof_enabled']:
            if files['aof_dir']:
                os.mkdir(files['aof_dir'], 0o750)
                own(files['aof_dir'])
                base = f"{files['aof_file']}.1.base.rdb"
                shutil.copyfile(os.path.join(path, RDB_FILE), os.path.join(files['aof_dir'], base))
                manifest_path = os.path.join(files['aof_dir'], f"{files['aof_file']}.manifest")
                with open(manifest_path, 'w') as handle:
                    handle.write(aof_manifest(base))
                for name in (base, os.path.basename(manifest_path)):
                    own(os.path.join(files['aof_dir'], name))
            else:
                aof = os.path.join(files['dir'], files['aof_file'])
                shutil.copyfile(os.path.join(path, RDB_FILE), aof)
                own(aof)


ENGINE = RedisEngine()
