/**
 * Structured logs on stderr, one line per event: human-readable by default,
 * JSON lines with WASMOS_LOG_FORMAT=json. Level from WASMOS_LOG (debug|info|warn|error).
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type LogFields = Readonly<Record<string, unknown>>;

const LEVEL_RANK: Readonly<Record<LogLevel, number>> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
  child(component: string): Logger;
}

export interface LogSink {
  write(line: string): void;
}

function levelFromEnv(): LogLevel {
  const wanted = process.env['WASMOS_LOG'];
  return wanted === 'debug' || wanted === 'warn' || wanted === 'error' ? wanted : 'info';
}

export function createLogger(
  component: string,
  options: { level?: LogLevel; json?: boolean; sink?: LogSink } = {},
): Logger {
  const level = options.level ?? levelFromEnv();
  const json = options.json ?? process.env['WASMOS_LOG_FORMAT'] === 'json';
  const sink = options.sink ?? { write: (line: string) => process.stderr.write(line) };
  const emit = (at: LogLevel, message: string, fields: LogFields = {}): void => {
    if (LEVEL_RANK[at] < LEVEL_RANK[level]) return;
    const time = new Date().toISOString();
    if (json) {
      sink.write(JSON.stringify({ time, level: at, component, message, ...fields }) + '\n');
      return;
    }
    const extra = Object.entries(fields)
      .map(([key, value]) => `${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`)
      .join(' ');
    sink.write(`${time} ${at.padEnd(5)} [${component}] ${message}${extra ? ' ' + extra : ''}\n`);
  };
  return {
    debug: (message, fields) => emit('debug', message, fields),
    info: (message, fields) => emit('info', message, fields),
    warn: (message, fields) => emit('warn', message, fields),
    error: (message, fields) => emit('error', message, fields),
    child: (name) => createLogger(`${component}.${name}`, { level, json, sink }),
  };
}

/** For tests and embedded use: drops everything. */
export const silentLogger: Logger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
  child: () => silentLogger,
};
