import { agentsView } from './agents.js';
import { frameworksView } from './frameworks.js';
import { jobsView } from './jobs.js';
import { overviewView } from './overview.js';
import { taskPageView } from './task-page.js';
import { tasksView } from './tasks.js';
import type { View } from './view.js';

/** How often the open page asks the master again. */
export const POLL_INTERVAL_MS = 2000;

/**
 * The UI's entry point: a hash router (`#/agents`, `#/tasks/<id>`, …) over the views, and one
 * poll loop for the open view. Leaving a page aborts its requests; a failed poll is shown in the
 * header and retried at the next interval.
 */

interface Route {
  readonly name: string;
  readonly view: View;
}

function routeOf(hash: string): Route {
  const parts = hash.replace(/^#\/?/, '').split('/').filter(Boolean).map(decodePart);
  const [page, id] = parts;
  if (page === 'agents') return { name: 'agents', view: agentsView() };
  if (page === 'frameworks') return { name: 'frameworks', view: frameworksView() };
  if (page === 'jobs') return { name: 'jobs', view: jobsView() };
  if (page === 'tasks' && id !== undefined) return { name: 'tasks', view: taskPageView(id) };
  if (page === 'tasks') return { name: 'tasks', view: tasksView() };
  return { name: 'overview', view: overviewView() };
}

function decodePart(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    return part;
  }
}

let current: AbortController | undefined;

function open(): void {
  current?.abort();
  const controller = new AbortController();
  current = controller;
  const route = routeOf(location.hash);
  for (const link of document.querySelectorAll<HTMLAnchorElement>('nav a'))
    link.classList.toggle('current', link.dataset['view'] === route.name);
  document.getElementById('view')?.replaceChildren(route.view.element);
  void poll(route.view, controller.signal);
}

async function poll(view: View, signal: AbortSignal): Promise<void> {
  const connection = document.getElementById('connection');
  while (!signal.aborted) {
    try {
      await view.refresh(signal);
      if (connection && !signal.aborted) {
        connection.className = 'connection';
        connection.textContent = `updated ${new Date().toLocaleTimeString()}`;
      }
    } catch (error) {
      if (signal.aborted) return;
      if (connection) {
        connection.className = 'connection error';
        connection.textContent = `cannot read the master: ${(error as Error).message}`;
      }
    }
    await sleep(POLL_INTERVAL_MS, signal);
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        resolve();
      },
      { once: true },
    );
  });
}

window.addEventListener('hashchange', open);
open();
