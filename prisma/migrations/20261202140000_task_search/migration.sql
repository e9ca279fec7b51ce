-- Search across projects (issue 15): full text over a task's title (weight A) and description
-- (weight B) with the 'simple' configuration (no stemming, any language; prefix queries), served by
-- a GIN expression index. server/services/task.ts (SEARCH_DOCUMENT) uses the same expression, so the
-- planner can use the index. No change to existing rows.
-- CreateIndex
CREATE INDEX "Task_search_idx" ON "Task" USING GIN ((setweight(to_tsvector('simple', "title"), 'A') || setweight(to_tsvector('simple', "description"), 'B')));
