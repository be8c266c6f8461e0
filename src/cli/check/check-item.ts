/** One line of `check`'s report. */
export interface CheckItem {
  readonly name: string;
  readonly ok: boolean;
  readonly detail: string;
}
