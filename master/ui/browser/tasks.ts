import { getTasks, UI_TASKS_LISTED_MAX, type Task, type TaskOutcome } from './api.js';
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
  return stateWithDetail(task.state, outcomeDetail(task));
}

/** The reason and message of a task's last status, as one line (empty when it gave neither). */
export function outcomeDetail(outcome: TaskOutcome): string {
  return [outcome.reason, outcome.message].filter(Boolean).join(': ');
}

/** A state, coloured by how it went, with why under it when there is a why. */
export function stateWithDetail(state: string, detail: string): HTMLElement {
  return el(
    'span',
    {},
    el('span', { class: stateClass(state) }, state),
    detail ? el('div', { class: 'muted' }, detail) : null,
  );
}
