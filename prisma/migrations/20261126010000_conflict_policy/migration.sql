-- CreateEnum
CREATE TYPE "ConflictPolicy" AS ENUM ('merge', 'lastWriteWins');

-- AlterTable
ALTER TABLE "Project" ADD COLUMN     "conflictPolicy" "ConflictPolicy" NOT NULL DEFAULT 'merge';
