/** Plain-text tables and human units for the CLI's listings. */

/** Columns padded to their widest cell; the last column is not padded. */
export function formatTable(
  headers: readonly string[],
  rows: readonly (readonly string[])[],
): string {
  const widths = headers.map((header, column) =>
    Math.max(header.length, ...rows.map((row) => (row[column] ?? '').length)),
  );
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, column) => (column === cells.length - 1 ? cell : cell.padEnd(widths[column]!)))
      .join('  ')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n') + '\n';
}

export function formatBytes(bytes: number | undefined): string {
  if (bytes === undefined) return '-';
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  if (bytes < 1024 ** 3) return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
  return `${(bytes / 1024 ** 3).toFixed(2)} GiB`;
}

export function formatDuration(ms: number | undefined): string {
  if (ms === undefined) return '-';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(2)} s`;
  return `${Math.floor(ms / 60_000)}m${Math.round((ms % 60_000) / 1000)}s`;
}

export function formatCount(value: number | undefined): string {
  return value === undefined ? '-' : value.toLocaleString('en-US');
}

/** `{ cpus: 2, mem: 1024 }` → `cpus:2 mem:1024`. */
export function formatResources(resources: Readonly<Record<string, unknown>> | undefined): string {
  if (!resources) return '-';
  const parts = Object.entries(resources)
    .filter(([, value]) => typeof value === 'number')
    .map(([name, value]) => `${name}:${String(value)}`);
  return parts.length > 0 ? parts.join(' ') : '-';
}
