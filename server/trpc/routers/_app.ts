import { createCallerFactory, router } from '../init'
import { activityRouter } from './activity'
import { apiTokenRouter } from './apiToken'
import { authRouter } from './auth'
import { commentRouter } from './comment'
import { labelRouter } from './label'
import { descriptionRouter } from './description'
import { memberRouter } from './member'
import { notificationRouter } from './notification'
import { presenceRouter } from './presence'
import { projectRouter } from './project'
import { pushRouter } from './push'
import { searchRouter } from './search'
import { taskRouter } from './task'

export const appRouter = router({
  auth: authRouter,
  apiToken: apiTokenRouter,
  project: projectRouter,
  member: memberRouter,
  task: taskRouter,
  label: labelRouter,
  comment: commentRouter,
  notification: notificationRouter,
  activity: activityRouter,
  presence: presenceRouter,
  push: pushRouter,
  search: searchRouter,
  description: descriptionRouter,
})

export type AppRouter = typeof appRouter
export const createCaller = createCallerFactory(appRouter)
