import {
  presenceOnProjectInput,
  presenceSetStatusInput,
  presenceTypingInput,
  presenceUpdateInput,
} from '../../../shared/schemas/presence'
import { chosenStatus, onProject, setStatus, typing, updatePresence } from '../../presence/service'
import { protectedProcedure, router } from '../init'

/** Who is on a project, what they look at, who is typing: see docs/presence.md. */
export const presenceRouter = router({
  /**
   * Joins the project's presence for this connection and streams it: a snapshot of the online
   * members, then coalesced patches. Ends when the connection stops it, closes, or the user leaves
   * the project. Refused (NOT_FOUND, or BAD_REQUEST off the socket) before the stream starts.
   */
  onProject: protectedProcedure.input(presenceOnProjectInput).subscription(({ ctx, input, signal }) => onProject(ctx, input, signal)),
  /** What this connection (tab) shows: the open task, and whether the tab is idle or hidden. */
  update: protectedProcedure.input(presenceUpdateInput).mutation(({ ctx, input }) => updatePresence(ctx, input)),
  /** "Ana is typing…": lasts 5 s unless refreshed (clients send at most one per 2 s). */
  typing: protectedProcedure.input(presenceTypingInput).mutation(({ ctx, input }) => typing(ctx, input)),
  /** The user's chosen status, for all their tabs and projects (kept across sessions). */
  setStatus: protectedProcedure.input(presenceSetStatusInput).mutation(({ ctx, input }) => setStatus(ctx.db, ctx.user.id, input)),
  myStatus: protectedProcedure.query(async ({ ctx }) => ({ status: await chosenStatus(ctx.db, ctx.user.id) })),
})
