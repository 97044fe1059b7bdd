/** A labelled text. Single-label specs: exactly one label; multi-label: any subset (possibly empty). */
export interface Example {
  text: string;
  labels: string[];
}

/**
 * The columns (indices into `labels`) of one training example's labels, after checking it the way
 * every model needs it: a string text, a labels array, exactly one label for a single-label spec,
 * only labels of the spec. Throws a message naming the example's row and the problem.
 */
export function labelColumns(spec: { labels: readonly string[]; multiLabel: boolean }, column: ReadonlyMap<string, number>, example: Example, row: number): number[] {
  if (!example || typeof example.text !== 'string' || !Array.isArray(example.labels)) {
    throw new Error(`example ${row} must have a string "text" and a "labels" array`);
  }
  if (!spec.multiLabel && example.labels.length !== 1) {
    throw new Error(`example ${row} has ${example.labels.length} labels; a single-label model needs exactly one`);
  }
  return example.labels.map((label) => {
    const j = column.get(label);
    if (j === undefined) throw new Error(`example ${row} has label "${label}", which is not one of the model's labels: ${spec.labels.join(', ')}`);
    return j;
  });
}
