import { getAgents, type Agent } from './api.js';
import { el, table, tags } from './dom.js';
import { resourceSummary, stateClass } from './format.js';
import type { View } from './view.js';

/** Every agent the master knows: what it has, what is free, what it runs and why not. */
export function agentsView(): View {
  const element = el('section', {}, el('h1', {}, 'Agents'));
  return {
    element,
    async refresh(signal) {
      const agents = await getAgents(signal);
      element.replaceChildren(
        el('h1', {}, `Agents (${agents.length})`),
        table(
          [
            { title: 'Id', cell: (agent: Agent) => agent.id },
            { title: 'Hostname', cell: (agent) => agent.hostname },
            {
              title: 'Status',
              cell: (agent) => el('span', { class: stateClass(agent.status) }, agent.status),
            },
            { title: 'Resources', cell: (agent) => resourceSummary(agent.resources) },
            { title: 'Used', cell: (agent) => resourceSummary(agent.used) },
            { title: 'Free', cell: (agent) => resourceSummary(agent.free) },
            { title: 'Runtimes', cell: (agent) => tags(agent.runtimes) },
            { title: 'Unavailable runtimes', cell: unavailable },
            {
              title: 'Attributes',
              cell: (agent) => tags(agent.attributes.map(([name, value]) => `${name}:${value}`)),
            },
            { title: 'Tasks', cell: (agent) => agent.tasks, numeric: true },
          ],
          agents,
          'No agents have registered.',
        ),
      );
    },
  };
}

function unavailable(agent: Agent): HTMLElement {
  if (agent.unavailableRuntimes.length === 0) return el('span', { class: 'muted' }, '—');
  return el(
    'ul',
    {},
    ...agent.unavailableRuntimes.map((entry) =>
      el('li', {}, `${entry.runtime} (${entry.cause}): ${entry.reason}`),
    ),
  );
}
