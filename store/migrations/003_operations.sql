-- One row per round (a reset of a round by hand updates its row: same round, new run id).
CREATE TABLE rounds (
  project_id      bigint NOT NULL,
  round           integer NOT NULL,
  workflow_id     text NOT NULL,
  run_id          text NOT NULL,
  trigger         text NOT NULL,
  outcome         text NOT NULL DEFAULT 'running',   -- running | promoted | rejected | failed | replayed
  error_type      text,
  error_message   text,                               -- the root cause of a failed round
  model_version   text,
  snapshot_id     text,
  train_count     integer,
  replay_of       integer,                            -- this round re-ran that failed round
  replayed_by     integer,                            -- this failed round was re-run by that round
  overrides       jsonb,                              -- training overrides the round was asked for (a replay reuses them)
  evidence        jsonb,                              -- the promotion gate's evidence
  steps           jsonb NOT NULL DEFAULT '{}',        -- { step: { ms } }
  progress        jsonb,                              -- live progress of the running step
  started_at      timestamptz NOT NULL DEFAULT now(),
  finished_at     timestamptz,
  PRIMARY KEY (project_id, round)
);
CREATE INDEX rounds_outcome ON rounds (project_id, outcome);

-- Every change of champion, with who and why (rounds, operator promotions and rollbacks).
CREATE TABLE champion_history (
  id              bigserial PRIMARY KEY,
  project_id      bigint NOT NULL,
  version         text NOT NULL,
  previous_version text,
  action          text NOT NULL,                      -- round | promote | rollback
  round           integer,
  actor           text,
  reason          text NOT NULL,
  at              timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX champion_history_project ON champion_history (project_id, id);

-- Per-project settings an operator changes at run time (null: the configured default).
ALTER TABLE projects ADD COLUMN mode text, ADD COLUMN strategy text, ADD COLUMN debounce jsonb;
