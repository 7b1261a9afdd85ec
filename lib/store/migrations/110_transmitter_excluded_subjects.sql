-- Subjects a receiver removed from its stream (SSF 1.0 Remove Subject). Streams include every
-- subject by default (the transmitter's metadata says default_subjects "ALL"), so removing one
-- stops its SETs and adding it again resumes them; `subjects` keeps those added, for the record.
-- Before this column, adding a subject narrowed the stream to the subjects added.
ALTER TABLE transmitter_streams ADD COLUMN IF NOT EXISTS excluded_subjects Array(String) DEFAULT [] AFTER subjects;
