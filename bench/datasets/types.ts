/** One labelled text of a benchmark data set. `id` is stable across runs and installs of the same package version. */
export interface LabelledText {
  id: string;
  text: string;
  label: string;
}
