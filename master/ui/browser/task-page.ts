import { findJob, getTasks, type Job, type Task } from './api.js';
import { el, facts } from './dom.js';
import { bytes, count, duration, mebibytes, time } from './format.js';
import { jobState } from './jobs.js';
import { LogFollower } from './logs.js';
import { taskState } from './tasks.js';
import type { View } from './view.js';

const TERMINAL = /^TASK_(FINISHED|FAILED|KILLED|ERROR|LOST|DROPPED|GONE)/;

/** One task (or job): its facts, and its stdout and stderr followed until they end. */
export function taskPageView(taskId: string): View {
  const details = el('div', {}, el('p', {}, 'Loading…'));
  const followers = [new LogFollower(taskId, 'stdout'), new LogFollower(taskId, 'stderr')];
  const element = el(
    'section',
    {},
    el('h1', {}, 'Task ', el('code', {}, taskId)),
    details,
    ...followers.map((follower) => follower.element),
  );
  let ended = false;
  return {
    element,
    async refresh(signal) {
      if (!ended) {
        const [task, job] = await Promise.all([
          getTasks(signal).then((tasks) => tasks.find((each) => each.id === taskId)),
          findJob(taskId, signal),
        ]);
        details.replaceChildren(describe(task, job));
        ended = task !== undefined && TERMINAL.test(task.state);
      }
      await Promise.all(followers.map((follower) => follower.poll(signal)));
    },
  };
}

function describe(task: Task | undefined, job: Job | undefined): HTMLElement {
  if (!task && !job)
    return el('p', { class: 'empty' }, 'The master does not list this task (it may be forgotten).');
  const pairs: Array<readonly [string, HTMLElement | string]> = [];
  if (task) {
    pairs.push(
      ['Name', task.name],
      ['State', taskState(task)],
      ['Runtime', task.runtime],
      ['Framework', task.frameworkId],
      ['Agent', task.agentId],
      ['Exit code', task.exitCode === undefined ? '—' : String(task.exitCode)],
      ['Fuel used', count(task.fuelConsumed)],
      ['Memory limit', mebibytes(task.resources.scalars.get('mem'))],
      ['Peak memory', bytes(task.peakMemoryBytes)],
      ['Duration', duration(task.durationMs)],
      ['Updated', time(task.updatedMs)],
    );
  }
  if (job) {
    pairs.push(['Job', jobState(job)], ['Submitted', time(job.submittedAtMs)]);
    if (!task)
      pairs.push(
        ['Name', job.name],
        ['Agent', job.hostname ?? job.agentId ?? '—'],
        ['Exit code', job.exitCode === undefined ? '—' : String(job.exitCode)],
        ['Fuel used', count(job.fuelConsumed)],
        ['Peak memory', bytes(job.peakMemoryBytes)],
        ['Duration', duration(job.durationMs)],
      );
  }
  return facts(pairs);
}
