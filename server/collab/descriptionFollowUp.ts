import { taskDescriptionSchema } from '../../shared/schemas/task'
import { DomainError } from '../services/errors'
import { updateTask } from '../services/task'
import { MAX_DESCRIPTION, type LiveDoc } from './descriptionDoc'

/**
 * Writes the document's text to `Task.description` through updateTask, as the latest editor who
 * may still write (their event carries the change; the notifier sends new @mentions once).
 */
export async function writeDescription(live: LiveDoc) {
  const editors = live.editors
  live.editors = []
  live.firstPendingAt = null
  const text = live.doc.getText('description').toString().slice(0, MAX_DESCRIPTION)
  const description = taskDescriptionSchema.safeParse(text).success ? text : text.replace(/\0/g, '')
  for (const editor of [...editors].reverse()) {
    for (let attempt = 0; attempt < 3; attempt++) {
      const task = await live.db.task.findUnique({ where: { id: live.taskId }, select: { version: true, description: true, deletedAt: true } })
      if (!task || task.deletedAt || task.description === description) return
      try {
        await updateTask(live.db, editor, { id: live.taskId, baseVersion: task.version, patch: { description } })
        return
      }
      catch (error) {
        if (error instanceof DomainError && error.code === 'CONFLICT') continue
        if (error instanceof DomainError && (error.code === 'FORBIDDEN' || error.code === 'NOT_FOUND')) break
        throw error
      }
    }
  }
}
