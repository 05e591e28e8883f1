/**
 * The headers every UI response carries. The page loads nothing but its own script and style
 * (no inline script, no inline style, no eval), talks to nothing but its own origin, and may not
 * be framed: data shown in the UI (task names, task output) can never run as code, even if a
 * rendering bug let it reach the DOM as markup.
 */
export const UI_CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  "img-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

export const UI_SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': UI_CONTENT_SECURITY_POLICY,
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  // The files change with each build; the browser revalidates rather than run stale code.
  'cache-control': 'no-cache',
};
