import { z } from 'zod'
import { idSchema, int4, text } from './common'

/** search.tasks: words of a title or description (prefixes), or a reference ("WEB-12"). */
export const searchTasksInput = z.object({
  query: text().trim().min(1, 'Type something to search for').max(200, 'At most 200 characters'),
  /** Only this project (the list view); otherwise every project the caller is a member of. */
  projectId: idSchema.optional(),
  limit: int4({ min: 1, max: 50 }).optional(),
})
export type SearchTasksInput = z.input<typeof searchTasksInput>
