import type { inferRouterInputs, inferRouterOutputs } from '@trpc/server'
import type { AppRouter } from '~~/server/trpc/routers/_app'

export type RouterOutputs = inferRouterOutputs<AppRouter>
export type RouterInputs = inferRouterInputs<AppRouter>

export type Me = NonNullable<RouterOutputs['auth']['me']>
/** A board card / list row (task.list may leave out heavy fields such as the description). */
export type Task = RouterOutputs['task']['list'][number]
/** The whole task, as the side panel edits it. */
export type TaskDetail = RouterOutputs['task']['byId']
export type ProjectSummary = RouterOutputs['project']['list'][number]
export type Project = RouterOutputs['project']['byId']
export type Member = RouterOutputs['member']['list'][number]
export type Comment = RouterOutputs['comment']['list'][number]
export type ApiToken = RouterOutputs['apiToken']['list'][number]
export type CreatedApiToken = RouterOutputs['apiToken']['create']
export type TaskPatchInput = RouterInputs['task']['update']['patch']
