-- models.spec was written and never read (the weights bundle describes the model).
ALTER TABLE models DROP COLUMN IF EXISTS spec;
-- Intake checks which project owns a task or annotation id before applying an event.
CREATE INDEX IF NOT EXISTS annotations_project_task ON annotations (project_id, task_id) WHERE NOT deleted;
