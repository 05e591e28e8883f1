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
  if (!state.leading) {
    element.replaceChildren(el('h1', {}, 'Overview'), standby(state));
    return;
  }
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

/** A standby (HA) serves no cluster state: say so, and link to the leader's UI if it is known. */
function standby(state: ClusterState): HTMLElement {
  const leaderUi = uiOf(state.leaderAddress);
  return el(
    'p',
    {},
    `This master (${state.masterId}) does not lead now. `,
    leaderUi ? 'The leader is ' : 'No leader is known yet; this page retries.',
    leaderUi ? externalLink(leaderUi, state.leaderId || leaderUi) : null,
  );
}

/** The leader's UI address, only for an http(s) origin (the address comes from ZooKeeper). */
function uiOf(address: string | undefined): string | undefined {
  if (address === undefined) return undefined;
  try {
    const url = new URL(address);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return undefined;
    return `${url.origin}${url.pathname.replace(/\/$/, '')}/ui/`;
  } catch {
    return undefined;
  }
}

function externalLink(href: string, label: string): HTMLElement {
  const link = el('a', {}, label);
  link.setAttribute('href', href);
  link.setAttribute('rel', 'noreferrer');
  return link;
}
