-- 0006: worker tokens (issue 17, finding 11). Workers used an admin token to download the
-- blobs of the jobs they run, so a token copied off any worker host could administer the
-- cluster and read every team's blobs. A worker token may download only the blobs that a
-- job some worker holds now (running or cancelling) names, and otherwise acts as a
-- plain token of its team (it uploads QDQ exports as that team). A token is never both.
ALTER TABLE tokens ADD COLUMN worker boolean NOT NULL DEFAULT false;
ALTER TABLE tokens ADD CONSTRAINT tokens_worker_is_not_admin CHECK (NOT (worker AND admin));
