import { getTasks, UI_TASKS_LISTED_MAX, type Task } from './api.js';
import { el, routeLink, table } from './dom.js';
import { bytes, count, duration, mebibytes, stateClass } from './format.js';
import type { View } from './view.js';

/** Live tasks first, then ended ones newest first (the API's order). */
export function tasksView(): View {
  const element = el('section', {}, el('h1', {}, 'Tasks'));
  return {
    element,
    async refresh(signal) {
      const tasks = await getTasks(signal);
      element.replaceChildren(
        el('h1', {}, `Tasks (${tasks.length})`),
        el(
          'p',
          { class: 'muted' },
          tasks.length >= UI_TASKS_LISTED_MAX ? `Showing the first ${UI_TASKS_LISTED_MAX}.` : '',
        ),
        table(
          [
            { title: 'Id', cell: (task: Task) => routeLink(['tasks', task.id], task.id) },
            { title: 'Name', cell: (task) => task.name },
            { title: 'State', cell: taskState },
            { title: 'Runtime', cell: (task) => task.runtime },
            { title: 'Agent', cell: (task) => task.agentId },
            { title: 'Fuel used', cell: (task) => count(task.fuelConsumed), numeric: true },
            {
              title: 'Memory (limit)',
              cell: (task) => mebibytes(task.resources.scalars.get('mem')),
              numeric: true,
            },
            { title: 'Peak memory', cell: (task) => bytes(task.peakMemoryBytes), numeric: true },
            { title: 'Duration', cell: (task) => duration(task.durationMs), numeric: true },
          ],
          tasks,
          'No tasks yet.',
        ),
      );
    },
  };
}

export function taskState(task: Task): HTMLElement {
  const detail = [task.reason, task.message].filter(Boolean).join(': ');
  return el(
    'span',
    {},
    el('span', { class: stateClass(task.state) }, task.state),
    detail ? el('div', { class: 'muted' }, detail) : null,
  );
}
