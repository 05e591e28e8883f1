import { getFrameworks, type Framework } from './api.js';
import { el, routeLink, table } from './dom.js';
import { resourceSummary } from './format.js';
import type { View } from './view.js';

/** The frameworks registered with the master (the built-in jobs framework among them). */
export function frameworksView(): View {
  const element = el('section', {}, el('h1', {}, 'Frameworks'));
  return {
    element,
    async refresh(signal) {
      const frameworks = await getFrameworks(signal);
      element.replaceChildren(
        el('h1', {}, `Frameworks (${frameworks.length})`),
        table(
          [
            { title: 'Id', cell: (framework: Framework) => framework.id },
            { title: 'Name', cell: (framework) => framework.name },
            { title: 'Role', cell: (framework) => framework.role },
            { title: 'User', cell: (framework) => framework.user },
            { title: 'Principal', cell: (framework) => framework.principal },
            { title: 'Connected', cell: (framework) => (framework.connected ? 'yes' : 'no') },
            { title: 'Suppressed', cell: (framework) => (framework.suppressed ? 'yes' : 'no') },
            { title: 'Used', cell: (framework) => resourceSummary(framework.used) },
            { title: 'Offers', cell: (framework) => framework.offers, numeric: true },
            {
              title: 'Tasks',
              cell: (framework) => routeLink(['tasks'], String(framework.tasks)),
              numeric: true,
            },
            { title: 'Completed', cell: (framework) => framework.completedTasks, numeric: true },
          ],
          frameworks,
          'No frameworks have subscribed.',
        ),
      );
    },
  };
}
