/** Rows as CSV (RFC 4180): a header row, CRLF line ends, fields quoted when they need it. */

function field(value: unknown): string {
  const text = value === undefined || value === null ? '' : String(value);
  // A leading =, +, - or @ would be a formula in a spreadsheet; report keys never need one.
  const safe = /^[=+\-@]/.test(text) && !/^-?\d/.test(text) ? `'${text}` : text;
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

export function toCsv(columns: readonly string[], rows: readonly Record<string, unknown>[]): string {
  const lines = [columns.map(field).join(',')];
  for (const row of rows) lines.push(columns.map((c) => field(row[c])).join(','));
  return `${lines.join('\r\n')}\r\n`;
}
