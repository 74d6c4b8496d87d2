// Runs jobs on N worker threads (or in this thread when N is 0), keeping the order of the job list.
import { Worker } from 'node:worker_threads';
import { runJob, type RunJob } from './runJob.js';
import type { RunReport } from '../sim/runReport.js';

export async function runJobs(jobs: readonly RunJob[], workers: number, onDone?: (report: RunReport) => void): Promise<RunReport[]> {
  if (workers <= 0) {
    const reports: RunReport[] = [];
    for (const job of jobs) {
      const report = await runJob(job);
      onDone?.(report);
      reports.push(report);
    }
    return reports;
  }
  const results = new Array<RunReport>(jobs.length);
  let next = 0;
  const threads = Array.from({ length: Math.min(workers, jobs.length) }, () => new Worker(new URL('./runWorker.js', import.meta.url)));
  try {
    await Promise.all(
      threads.map(
        (thread) =>
          new Promise<void>((resolve, reject) => {
            const feed = (): void => {
              if (next >= jobs.length) return resolve();
              const index = next++;
              thread.once('message', (reply: { ok: true; report: RunReport } | { ok: false; error: string }) => {
                if (!reply.ok) return reject(new Error(reply.error));
                results[index] = reply.report;
                onDone?.(reply.report);
                feed();
              });
              thread.postMessage(jobs[index]);
            };
            thread.once('error', reject);
            feed();
          }),
      ),
    );
  } finally {
    await Promise.all(threads.map((thread) => thread.terminate()));
  }
  return results;
}
