// Worker-thread entry: runs the jobs it is sent and posts each report back.
import { parentPort } from 'node:worker_threads';
import { runJob, type RunJob } from './runJob.js';

parentPort?.on('message', (job: RunJob) => {
  runJob(job).then(
    (report) => parentPort?.postMessage({ ok: true, report }),
    (error: unknown) => parentPort?.postMessage({ ok: false, error: error instanceof Error ? error.message : String(error) }),
  );
});
