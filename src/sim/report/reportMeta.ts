// What every report page and file is headed with. Only what the caller puts here may vary between
// two renderings of the same runs, so a timestamp belongs here or nowhere.

export interface ReportMeta {
  readonly title: string;
  /** The command line that produced the runs. */
  readonly command: string;
  /** The build the runs were made with (version, commit); fingerprints are only comparable within one. */
  readonly build: string;
}
