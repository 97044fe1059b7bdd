-- Large pools (README "Scaling out"): bulk re-prediction and push page through a project's
-- predictions of one version by task id (keyset pages), so the index leads with the version.
CREATE INDEX IF NOT EXISTS predictions_version_task ON predictions (project_id, model_version, task_id);
DROP INDEX IF EXISTS predictions_project_version;

-- Reconciliation records the ids of each page of Label Studio's listing here, then deletes what
-- the listing lacked with one anti-join: memory stays flat in the number of tasks. Unlogged:
-- rows of a listing whose attempt died are useless (the next attempt lists again under a new id)
-- and are removed by the next reconciliation of the project.
CREATE UNLOGGED TABLE IF NOT EXISTS listed_ids (
  listing         text NOT NULL,
  project_id      bigint NOT NULL,
  kind            "char" NOT NULL,   -- 't' task, 'a' annotation
  id              bigint NOT NULL,
  PRIMARY KEY (listing, kind, id)
);
CREATE INDEX IF NOT EXISTS listed_ids_project ON listed_ids (project_id);
ALTER TABLE listed_ids ADD COLUMN IF NOT EXISTS listed_at timestamptz NOT NULL DEFAULT now();
