import { getState, type ClusterState } from './api.js';
import { el, facts, routeLink, table } from './dom.js';
import { scalar } from './format.js';
import type { View } from './view.js';

/** The cluster at a glance: the leader, agents, resources used and free, tasks by state. */
export function overviewView(): View {
  const element = el('section', {}, el('h1', {}, 'Overview'));
  return {
    element,
    async refresh(signal) {
      render(element, await getState(signal));
    },
  };
}

function render(element: HTMLElement, state: ClusterState): void {
  const active = state.agents.filter((agent) => agent.status === 'active').length;
  const names = [...new Set([...state.total.scalars.keys(), ...state.used.scalars.keys()])];
  const tasksByState = new Map<string, number>();
  for (const task of state.tasks)
    tasksByState.set(task.state, (tasksByState.get(task.state) ?? 0) + 1);

  element.replaceChildren(
    el('h1', {}, 'Overview'),
    facts([
      ['Leader', state.leaderId || '—'],
      ['This master', state.masterId],
      ['Healthy', state.healthy ? 'yes' : 'no'],
      ['Agents', routeLink(['agents'], `${active} active of ${state.agents.length}`)],
      ['Frameworks', routeLink(['frameworks'], String(state.frameworks.length))],
      ['Outstanding offers', String(state.outstandingOffers)],
    ]),
    el('h2', {}, 'Resources (active agents)'),
    table(
      [
        { title: 'Resource', cell: (name: string) => name },
        {
          title: 'Total',
          cell: (name) => scalar(name, state.total.scalars.get(name)),
          numeric: true,
        },
        {
          title: 'Used',
          cell: (name) => scalar(name, state.used.scalars.get(name) ?? 0),
          numeric: true,
        },
        {
          title: 'Offered',
          cell: (name) => scalar(name, state.offered.scalars.get(name) ?? 0),
          numeric: true,
        },
        {
          title: 'Free',
          cell: (name) => scalar(name, state.free.scalars.get(name)),
          numeric: true,
        },
      ],
      names,
      'No active agents: nothing to offer.',
    ),
    el('h2', {}, 'Tasks by state'),
    table(
      [
        { title: 'State', cell: ([taskState]: readonly [string, number]) => taskState },
        { title: 'Tasks', cell: ([, tasks]) => tasks, numeric: true },
      ],
      [...tasksByState.entries()].sort(([left], [right]) => left.localeCompare(right)),
      'No tasks yet.',
    ),
  );
}
