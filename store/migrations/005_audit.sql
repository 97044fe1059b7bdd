-- The audit stream's draw (dataset/audit.ts): uniform in [0, 1) from md5("project:task:salt").
CREATE FUNCTION label_loop_draw(project bigint, task bigint, salt integer) RETURNS double precision
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  AS $$ SELECT ('x' || substr(md5(project::text || ':' || task::text || ':' || salt::text), 1, 8))::bit(32)::bigint / 4294967296.0 $$;

-- No more held-out split: every label trains the served model; the audit items are scored by
-- cross-validation. The column now says whether an example is an audit item.
ALTER TABLE snapshot_examples RENAME COLUMN held_out TO audit;
ALTER TABLE dataset_snapshots RENAME COLUMN held_out_count TO audit_count;
-- train_count now counts every labelled example (audit items included).
UPDATE dataset_snapshots SET train_count = train_count + audit_count;

-- What each model's evaluation found, and its out-of-fold predictions on the audit items (the
-- promotion gate compares a later candidate with them on the items both saw).
ALTER TABLE models ADD COLUMN estimate jsonb, ADD COLUMN evidence jsonb;
CREATE TABLE model_audit_predictions (
  project_id      bigint NOT NULL,
  version         text NOT NULL,
  task_id         bigint NOT NULL,
  labels          text[] NOT NULL,
  PRIMARY KEY (project_id, version, task_id)
);

-- Where each prediction sits in the queue Label Studio serves (lower = sooner), by the project's
-- strategy with the audit stream interleaved (policies/sampling.ts).
ALTER TABLE predictions ADD COLUMN queue_score double precision;

-- Each task's draws, computed once when it is stored: whether it is an audit task (salt 1, below
-- the share) and its place in the random orders (salt 2: the audit queue, the random strategy,
-- the cold start's and the IDF's samples). Queries then compare columns instead of hashing every
-- task of the project, and the index keeps the random order a short index scan.
ALTER TABLE tasks
  ADD COLUMN audit_draw double precision GENERATED ALWAYS AS (label_loop_draw(project_id, id, 1)) STORED,
  ADD COLUMN order_draw double precision GENERATED ALWAYS AS (label_loop_draw(project_id, id, 2)) STORED;
CREATE INDEX tasks_order_draw ON tasks (project_id, order_draw);
