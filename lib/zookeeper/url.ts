import { err, ok, type Result } from '../result.js';

/** Where the ZooKeeper ensemble is and under which path wasmos keeps its znodes. */
export interface ZkUrl {
  /** `host:port,host:port`, the form the client library takes. */
  readonly servers: string;
  /** Absolute path of wasmos's root znode, e.g. `/wasmos` (never `/` alone, never a trailing `/`). */
  readonly rootPath: string;
  /** Digest credentials given inline (`zk://user:pass@...`); a credentials file is preferred. */
  readonly credentials?: ZkCredentials;
}

export interface ZkCredentials {
  readonly user: string;
  readonly password: string;
}

const DEFAULT_PORT = 2181;
const SEGMENT = /^[A-Za-z0-9._-]+$/;

/**
 * Parses `zk://[user:pass@]h1:2181,h2:2181/path`. The WHATWG URL parser cannot take a
 * host list, so this splits by hand and checks every part.
 */
export function parseZkUrl(text: string): Result<ZkUrl, string> {
  const match = /^zk:\/\/(?:([^@/]*)@)?([^/]+)(\/.*)$/.exec(text.trim());
  if (!match) return err(`not a ZooKeeper URL: "${text}" (try zk://host:2181/wasmos)`);
  const servers = parseServers(match[2] ?? '');
  if (!servers.ok) return servers;
  const rootPath = parseRootPath(match[3] ?? '');
  if (!rootPath.ok) return rootPath;
  const userInfo = match[1];
  if (userInfo === undefined) return ok({ servers: servers.value, rootPath: rootPath.value });
  const credentials = parseCredentials(decodeURIComponentSafe(userInfo));
  if (!credentials.ok) return credentials;
  return ok({ servers: servers.value, rootPath: rootPath.value, credentials: credentials.value });
}

/** `user:password` (the credentials file's content, or a URL's user info). */
export function parseCredentials(text: string): Result<ZkCredentials, string> {
  const colon = text.indexOf(':');
  if (colon <= 0) return err('ZooKeeper credentials must be "user:password"');
  const user = text.slice(0, colon);
  const password = text.slice(colon + 1);
  if (!SEGMENT.test(user)) return err('ZooKeeper user may only use letters, digits, ".", "_", "-"');
  if (password.length === 0) return err('ZooKeeper password must not be empty');
  if (/[\s]/.test(password)) return err('ZooKeeper password must not contain whitespace');
  return ok({ user, password });
}

function parseServers(text: string): Result<string, string> {
  const servers: string[] = [];
  for (const part of text.split(',')) {
    const match = /^([A-Za-z0-9.-]+|\[[0-9a-fA-F:]+\])(?::(\d{1,5}))?$/.exec(part);
    if (!match) return err(`bad ZooKeeper server "${part}" (try host:2181)`);
    const port = match[2] === undefined ? DEFAULT_PORT : Number(match[2]);
    if (port < 1 || port > 65535) return err(`bad ZooKeeper port in "${part}"`);
    servers.push(`${match[1]}:${port}`);
  }
  return ok(servers.join(','));
}

function parseRootPath(text: string): Result<string, string> {
  const trimmed = text.replace(/\/+$/, '');
  if (trimmed === '') return err('a ZooKeeper URL needs a root path, e.g. zk://host:2181/wasmos');
  const segments = trimmed.slice(1).split('/');
  for (const segment of segments) {
    if (!SEGMENT.test(segment) || segment === '.' || segment === '..') {
      return err(`bad ZooKeeper path segment "${segment}" in "${text}"`);
    }
  }
  return ok(trimmed);
}

function decodeURIComponentSafe(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
