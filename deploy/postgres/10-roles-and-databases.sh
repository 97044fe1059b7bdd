#!/bin/sh
# Runs once, when the postgres service initialises an empty data volume (docker-entrypoint-initdb.d).
# One login role per component, each owning only its own databases:
#   label_loop   -> label_loop                     (Label Loop's tasks, annotations, models)
#   label_studio -> label_studio                   (Label Studio)
#   temporal     -> temporal, temporal_visibility  (created by the temporal-schema job; CREATEDB)
# Passwords come from the environment (docker-compose.yml, from .env) through psql variables, so
# they are quoted by psql and never part of the SQL text.
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
  -v label_loop_password="$LABEL_LOOP_DB_PASSWORD" \
  -v label_studio_password="$LABEL_STUDIO_DB_PASSWORD" \
  -v temporal_password="$TEMPORAL_DB_PASSWORD" <<'SQL'
CREATE ROLE label_loop LOGIN PASSWORD :'label_loop_password';
CREATE DATABASE label_loop OWNER label_loop;
CREATE ROLE label_studio LOGIN PASSWORD :'label_studio_password';
CREATE DATABASE label_studio OWNER label_studio;
CREATE ROLE temporal LOGIN CREATEDB PASSWORD :'temporal_password';
SQL
