"""The application's settings: the environment only (the role templates an EnvironmentFile),
secrets read from the files the environment names, never from the environment itself."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

ENVIRONMENTS = ('lab', 'staging', 'production')
# The one engine word of the bundle for PostgreSQL; the schema and the SQL are PostgreSQL's.
ENGINE = 'postgresql'


class ConfigError(Exception):
    """A setting is missing or wrong: the process refuses to start and says which."""


def address_list(text, name, default_port):
    """'h1:p1,h2' -> [('h1', p1), ('h2', default_port)]."""
    addresses = []
    for item in (part.strip() for part in text.split(',')):
        if not item:
            continue
        host, _, port = item.rpartition(':') if ':' in item else (item, '', str(default_port))
        if not host or not port.isdigit():
            raise ConfigError(f'{name}: {item!r} is not host:port')
        addresses.append((host, int(port)))
    return addresses


def secret(env, name):
    """The content of the file named by env[name] (one trailing newline dropped), or ''."""
    path = env.get(name, '')
    if not path:
        return ''
    try:
        return Path(path).read_text().removesuffix('\n')
    except OSError as exc:
        raise ConfigError(f'{name}: cannot read {path}: {exc.strerror}') from exc


def number(env, name, default, kind=float):
    text = env.get(name, '')
    if text == '':
        return default
    try:
        value = kind(text)
    except ValueError:
        raise ConfigError(f'{name}: {text!r} is not a number') from None
    if value < 0:
        raise ConfigError(f'{name}: {text!r} is negative')
    return value


def words(env, name, default=''):
    return [word.strip() for word in env.get(name, default).split(',') if word.strip()]


def worker_urls(text):
    """'default=http://h:9000,default=http://g:9000,mail=...' -> {'default': [url, url], 'mail': [url]}."""
    urls = {}
    for item in (part.strip() for part in text.split(',')):
        if not item:
            continue
        kind, _, url = item.partition('=')
        if not kind or not url.startswith(('http://', 'https://')):
            raise ConfigError(f'REFAPP_WORKER_URLS: {item!r} is not type=http://host:port')
        urls.setdefault(kind.strip(), []).append(url.strip().rstrip('/'))
    return urls


@dataclass(frozen=True)
class Settings:
    environment: str = 'lab'
    db_host: str = '127.0.0.1'
    db_port: int = 5432
    db_name: str = 'app'
    db_user: str = 'app'
    db_password: str = field(default='', repr=False)
    db_read_hosts: tuple = ()
    db_replica_max_lag_seconds: float = 10.0
    db_pool_size: int = 10
    redis_sentinels: tuple = ()
    redis_master_name: str = 'bundle'
    redis_user: str = ''
    redis_password: str = field(default='', repr=False)
    sentinel_user: str = ''
    sentinel_password: str = field(default='', repr=False)
    alertmanager_url: str = ''
    worker_urls: dict = field(default_factory=dict)
    worker_queues: tuple = ('default',)
    worker_type: str = 'default'
    worker_stall_seconds: float = 60.0
    worker_health_bind: str = '127.0.0.1'
    worker_health_port: int = 9000
    backend_bind: str = '127.0.0.1'
    backend_port: int = 8000
    frontend_bind: str = '127.0.0.1'
    frontend_port: int = 3000
    frontend_api_url: str = ''
    cors_origins: tuple = ()
    check_timeout_seconds: float = 2.0
    queue_backlog_warning: int = 100

    def conninfo(self, host=None, port=None):
        """psycopg connection keywords for the write path, or for a replica at host:port."""
        return dict(host=host or self.db_host, port=port or self.db_port, dbname=self.db_name,
                    user=self.db_user, password=self.db_password,
                    connect_timeout=max(1, round(self.check_timeout_seconds)),
                    application_name='refapp')


def load(env=None):
    """Settings from the environment; ConfigError names the first bad one."""
    env = os.environ if env is None else env
    engine = env.get('REFAPP_DB_ENGINE', ENGINE)
    if engine != ENGINE:
        raise ConfigError(f'REFAPP_DB_ENGINE={engine!r}: this application runs on {ENGINE!r} only')
    environment = env.get('REFAPP_ENVIRONMENT', 'lab')
    if environment not in ENVIRONMENTS:
        raise ConfigError(f'REFAPP_ENVIRONMENT={environment!r}: one of {", ".join(ENVIRONMENTS)}')
    queues = tuple(words(env, 'REFAPP_WORKER_QUEUES', 'default'))
    if not queues:
        raise ConfigError('REFAPP_WORKER_QUEUES: name at least one queue')
    return Settings(
        environment=environment,
        db_host=env.get('REFAPP_DB_HOST', '127.0.0.1'),
        db_port=number(env, 'REFAPP_DB_PORT', 5432, int),
        db_name=env.get('REFAPP_DB_NAME', 'app'),
        db_user=env.get('REFAPP_DB_USER', 'app'),
        db_password=secret(env, 'REFAPP_DB_PASSWORD_FILE'),
        db_read_hosts=tuple(address_list(env.get('REFAPP_DB_READ_HOSTS', ''), 'REFAPP_DB_READ_HOSTS', 5432)),
        db_replica_max_lag_seconds=number(env, 'REFAPP_DB_REPLICA_MAX_LAG_SECONDS', 10.0),
        db_pool_size=max(1, number(env, 'REFAPP_DB_POOL_SIZE', 10, int)),
        redis_sentinels=tuple(address_list(env.get('REFAPP_REDIS_SENTINELS', ''), 'REFAPP_REDIS_SENTINELS', 26379)),
        redis_master_name=env.get('REFAPP_REDIS_MASTER_NAME', 'bundle'),
        redis_user=env.get('REFAPP_REDIS_USER', ''),
        redis_password=secret(env, 'REFAPP_REDIS_PASSWORD_FILE'),
        sentinel_user=env.get('REFAPP_SENTINEL_USER', ''),
        sentinel_password=secret(env, 'REFAPP_SENTINEL_PASSWORD_FILE'),
        alertmanager_url=env.get('REFAPP_ALERTMANAGER_URL', '').rstrip('/'),
        worker_urls=worker_urls(env.get('REFAPP_WORKER_URLS', '')),
        worker_queues=queues,
        worker_type=env.get('REFAPP_WORKER_TYPE', 'default'),
        worker_stall_seconds=number(env, 'REFAPP_WORKER_STALL_SECONDS', 60.0),
        worker_health_bind=env.get('REFAPP_WORKER_HEALTH_BIND', '127.0.0.1'),
        worker_health_port=number(env, 'REFAPP_WORKER_HEALTH_PORT', 9000, int),
        backend_bind=env.get('REFAPP_BACKEND_BIND', '127.0.0.1'),
        backend_port=number(env, 'REFAPP_BACKEND_PORT', 8000, int),
        frontend_bind=env.get('REFAPP_FRONTEND_BIND', '127.0.0.1'),
        frontend_port=number(env, 'REFAPP_FRONTEND_PORT', 3000, int),
        frontend_api_url=env.get('REFAPP_FRONTEND_API_URL', '').rstrip('/'),
        cors_origins=tuple(words(env, 'REFAPP_CORS_ORIGINS')),
        check_timeout_seconds=number(env, 'REFAPP_CHECK_TIMEOUT_SECONDS', 2.0),
        queue_backlog_warning=number(env, 'REFAPP_QUEUE_BACKLOG_WARNING', 100, int),
    )
