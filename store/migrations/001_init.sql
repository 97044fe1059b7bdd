-- Label Loop schema v1.
-- Ids from Label Studio (projects, tasks, annotations) are kept as they are: one Label Loop
-- deployment serves one Label Studio instance.

CREATE TABLE projects (
  id              bigint PRIMARY KEY,
  label_config    text,
  config_source   text,                 -- 'setup' | 'webhook' | 'api'
  updated_at      timestamptz NOT NULL DEFAULT now()
);

-- The webhook outbox: every accepted event is written here (and applied to tasks/annotations)
-- in the same transaction before Label Studio gets its 200. A forwarder turns unforwarded rows
-- into signals to the project's loop workflow, so an event survives a Temporal outage.
CREATE TABLE webhook_events (
  id              bigserial PRIMARY KEY,
  project_id      bigint NOT NULL,
  action          text NOT NULL,
  dedup_key       text NOT NULL UNIQUE,
  annotation_changes integer NOT NULL DEFAULT 0,
  task_changes    integer NOT NULL DEFAULT 0,
  training_requested boolean NOT NULL DEFAULT false,
  payload         jsonb NOT NULL,        -- normalised event, never the raw body (no secrets)
  received_at     timestamptz NOT NULL DEFAULT now(),
  forward_batch   text,
  claimed_at      timestamptz,
  forwarded_at    timestamptz
);
CREATE INDEX webhook_events_unforwarded ON webhook_events (project_id, id) WHERE forwarded_at IS NULL;

CREATE TABLE tasks (
  id              bigint PRIMARY KEY,
  project_id      bigint NOT NULL,
  data            jsonb NOT NULL,
  deleted         boolean NOT NULL DEFAULT false,
  updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX tasks_project ON tasks (project_id, id) WHERE NOT deleted;

CREATE TABLE annotations (
  id              bigint PRIMARY KEY,
  project_id      bigint NOT NULL,
  task_id         bigint NOT NULL,
  result          jsonb NOT NULL,
  was_cancelled   boolean NOT NULL DEFAULT false,
  deleted         boolean NOT NULL DEFAULT false,
  source_updated_at timestamptz,          -- Label Studio's updated_at: older updates never win
  recorded_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX annotations_task ON annotations (task_id);
CREATE INDEX annotations_project ON annotations (project_id);

-- An immutable dataset snapshot per round (round_key = the round's workflow id).
CREATE TABLE dataset_snapshots (
  id              text PRIMARY KEY,
  project_id      bigint NOT NULL,
  round_key       text NOT NULL,
  label_config    text NOT NULL,
  task_spec       jsonb NOT NULL,        -- parsed config: labels, multiLabel, textField, fromName, toName
  train_count     integer NOT NULL,
  held_out_count  integer NOT NULL,
  skipped_count   integer NOT NULL,
  created_at      timestamptz NOT NULL DEFAULT now(),
  UNIQUE (project_id, round_key)
);

CREATE TABLE snapshot_examples (
  snapshot_id     text NOT NULL REFERENCES dataset_snapshots (id) ON DELETE CASCADE,
  task_id         bigint NOT NULL,
  annotation_id   bigint NOT NULL,
  text            text NOT NULL,
  labels          text[] NOT NULL,
  held_out        boolean NOT NULL,
  PRIMARY KEY (snapshot_id, task_id)
);

CREATE TABLE models (
  project_id      bigint NOT NULL,
  version         text NOT NULL,
  snapshot_id     text NOT NULL REFERENCES dataset_snapshots (id),
  round_key       text NOT NULL,
  status          text NOT NULL DEFAULT 'training',  -- training | candidate | champion | retired | rejected
  weights         bytea,
  spec            jsonb,
  train_options   jsonb NOT NULL,
  backend         text,
  train_ms        integer,
  metrics         jsonb,                 -- candidate on the snapshot's held-out split
  champion_version text,                 -- champion it was compared against (null: first model)
  champion_metrics jsonb,
  baseline_metrics jsonb,
  promoted        boolean,              -- the decision, once made (status changes later: retired)
  decision_reason text,
  created_at      timestamptz NOT NULL DEFAULT now(),
  decided_at      timestamptz,
  PRIMARY KEY (project_id, version)
);

-- Latest finished epoch of a model still training, so a retried attempt resumes.
CREATE TABLE training_checkpoints (
  project_id      bigint NOT NULL,
  version         text NOT NULL,
  epoch           integer NOT NULL,
  state           bytea NOT NULL,
  updated_at      timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (project_id, version)
);

CREATE TABLE champions (
  project_id      bigint PRIMARY KEY,
  version         text NOT NULL,
  promoted_at     timestamptz NOT NULL DEFAULT now(),
  FOREIGN KEY (project_id, version) REFERENCES models (project_id, version)
);

CREATE TABLE predictions (
  task_id         bigint NOT NULL,
  model_version   text NOT NULL,
  project_id      bigint NOT NULL,
  labels          text[] NOT NULL,
  probabilities   real[] NOT NULL,
  score           double precision NOT NULL,   -- confidence of the predicted label(s)
  least_confidence double precision NOT NULL,  -- 1 - p(max): higher = less certain
  margin          double precision NOT NULL,   -- p1 - p2: lower = less certain
  entropy         double precision NOT NULL,   -- nats: higher = less certain
  created_at      timestamptz NOT NULL DEFAULT now(),
  push_started_at timestamptz,            -- set before a chunk is sent to Label Studio
  pushed_at       timestamptz,
  PRIMARY KEY (task_id, model_version)
);
CREATE INDEX predictions_project_version ON predictions (project_id, model_version);
