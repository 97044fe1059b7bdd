/** What Label Loop classifies, read from a Label Studio label config (labelstudio/labelConfig.ts). */
export interface ClassificationTask {
  /** `name` of the `<Choices>` tag: the `from_name` of results. */
  fromName: string;
  /** `name` of the `<Text>` tag: the `to_name` of results. */
  toName: string;
  /** Key in `task.data` holding the text, from `<Text value="$field">`. */
  textField: string;
  /** Result values, in config order (a `<Choice alias>` wins over its `value`, as in Label Studio). */
  labels: string[];
  multiLabel: boolean;
}
