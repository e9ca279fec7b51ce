const CONNECTION_ID = Symbol('tt.connectionId')

/** Gives a socket's context its connection id (presence is per connection); survives `{ ...ctx }`. */
export function markConnection<T extends object>(ctx: T, connId: string): T {
  Object.defineProperty(ctx, CONNECTION_ID, { value: connId, enumerable: true })
  return ctx
}

/** The id of the socket a call came over, or null for HTTP calls. */
export function connectionOf(ctx: object): string | null {
  const id = (ctx as Record<symbol, unknown>)[CONNECTION_ID]
  return typeof id === 'string' ? id : null
}
