import { getJobs, type Job } from './api.js';
import { el, routeLink, table } from './dom.js';
import { bytes, count, duration, time } from './format.js';
import { outcomeDetail, stateWithDetail } from './tasks.js';
import type { View } from './view.js';

/** Jobs submitted through POST /api/v1/jobs, newest first; a job's task has the job's id. */
export function jobsView(): View {
  const element = el('section', {}, el('h1', {}, 'Jobs'));
  return {
    element,
    async refresh(signal) {
      const jobs = await getJobs(signal);
      element.replaceChildren(
        el('h1', {}, `Jobs (${jobs.length})`),
        table(
          [
            { title: 'Id', cell: (job: Job) => routeLink(['tasks', job.id], job.id) },
            { title: 'Name', cell: (job) => job.name },
            { title: 'State', cell: jobState },
            { title: 'Runtime', cell: (job) => job.runtime },
            { title: 'Agent', cell: (job) => job.hostname ?? job.agentId ?? '—' },
            { title: 'Submitted', cell: (job) => time(job.submittedAtMs) },
            { title: 'Exit code', cell: (job) => job.exitCode ?? '—', numeric: true },
            { title: 'Fuel used', cell: (job) => count(job.fuelConsumed), numeric: true },
            { title: 'Peak memory', cell: (job) => bytes(job.peakMemoryBytes), numeric: true },
            { title: 'Duration', cell: (job) => duration(job.durationMs), numeric: true },
          ],
          jobs,
          'No jobs submitted.',
        ),
      );
    },
  };
}

export function jobState(job: Job): HTMLElement {
  return stateWithDetail(job.state, job.waiting ?? outcomeDetail(job));
}
