// What every report page and file is headed with. Only what the caller puts here may vary between
// two renderings of the same runs, so a timestamp belongs here or nowhere.

export interface ReportMeta {
  readonly title: string;
  /** The command line that produced the runs. */
  readonly command: string;
  /** The build the runs were made with (version, commit); fingerprints are only comparable within one. */
  readonly build: string;
  /**
   * Which slice of a selection of runs these are (`run --shard i/n`), so that `run --merge` can join the
   * slices: the selection's hash (its scenarios, seeds, bugs and the build), and how many runs it has.
   */
  readonly slice?: { readonly index: number; readonly count: number; readonly runs: number; readonly selection: string };
}
