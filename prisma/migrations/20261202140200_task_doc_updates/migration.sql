-- Live description editing (issue 17): Yjs updates per task, compacted into snapshot rows. No change to existing rows.
-- CreateTable
CREATE TABLE "TaskDocUpdate" (
    "id" BIGSERIAL NOT NULL,
    "taskId" TEXT NOT NULL,
    "data" BYTEA NOT NULL,
    "snapshot" BOOLEAN NOT NULL DEFAULT false,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "TaskDocUpdate_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "TaskDocUpdate_taskId_id_idx" ON "TaskDocUpdate"("taskId", "id");

-- AddForeignKey
ALTER TABLE "TaskDocUpdate" ADD CONSTRAINT "TaskDocUpdate_taskId_fkey" FOREIGN KEY ("taskId") REFERENCES "Task"("id") ON DELETE CASCADE ON UPDATE CASCADE;
