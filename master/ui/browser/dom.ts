/**
 * Building DOM without markup: every piece of data becomes a text node (textContent), never
 * HTML, so a task named `<img src=x onerror=…>` shows as those characters. Links are only ever
 * in-page hash routes built here from encoded ids.
 */

export type Child = Node | string | number | null | undefined | false;

export interface Props {
  readonly class?: string;
  readonly title?: string;
}

export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: Props = {},
  ...children: readonly Child[]
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  if (props.class) element.className = props.class;
  if (props.title) element.title = props.title;
  append(element, children);
  return element;
}

export function append(parent: Node, children: readonly Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    parent.appendChild(
      typeof child === 'string' || typeof child === 'number'
        ? document.createTextNode(String(child))
        : child,
    );
  }
}

/** A link to a page of this UI: `#/` followed by the route's parts, each URI-encoded. */
export function routeLink(parts: readonly string[], ...children: readonly Child[]): HTMLElement {
  const link = el('a', {}, ...children);
  link.setAttribute('href', `#/${parts.map(encodeURIComponent).join('/')}`);
  return link;
}

export interface Column<Row> {
  readonly title: string;
  readonly cell: (row: Row) => Child;
  /** Right-aligned, tabular figures. */
  readonly numeric?: boolean;
}

/** A table of rows, or a line saying there are none. */
export function table<Row>(
  columns: readonly Column<Row>[],
  rows: readonly Row[],
  empty: string,
): HTMLElement {
  if (rows.length === 0) return el('p', { class: 'empty' }, empty);
  const head = el('tr', {}, ...columns.map((column) => el('th', {}, column.title)));
  const body = rows.map((row) =>
    el(
      'tr',
      {},
      ...columns.map((column) =>
        el('td', column.numeric ? { class: 'number' } : {}, column.cell(row)),
      ),
    ),
  );
  return el('table', {}, el('thead', {}, head), el('tbody', {}, ...body));
}

/** A definition list of label/value pairs (a thing's facts). */
export function facts(pairs: ReadonlyArray<readonly [string, Child]>): HTMLElement {
  const list = el('dl', { class: 'facts' });
  for (const [label, value] of pairs) append(list, [el('dt', {}, label), el('dd', {}, value)]);
  return list;
}

export function tags(values: readonly string[]): HTMLElement {
  if (values.length === 0) return el('span', { class: 'muted' }, '—');
  return el(
    'span',
    { class: 'tags' },
    ...values.map((value) => el('span', { class: 'tag' }, value)),
  );
}
