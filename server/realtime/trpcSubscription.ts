// One subscription of a socket served with tRPC's WebSocket protocol (trpcConnection.ts, decision 0023).
import type { TRPCError } from '@trpc/server'
import { getTRPCErrorFromUnknown, isAbortError } from '@trpc/server/unstable-core-do-not-import'

export type CallType = 'query' | 'mutation' | 'subscription'
export type RequestId = string | number

/** What a subscription tells the socket it runs on (a `TrpcConnection`). */
export interface SubscriptionOwner {
  /** An item the generator yielded. */
  emit: (subscription: Subscription, value: unknown) => void
  /** The subscription left the socket's loop: its generator ended (`completed`), failed or was stopped. */
  ended: (subscription: Subscription, completed: boolean) => void
  /** Answers the subscription's id with an error (and reports it). */
  respondWithError: (id: RequestId, jsonrpc: '2.0' | undefined, error: TRPCError, type: CallType, path: string, input: unknown) => void
  /** Reports an error nobody is answered about. */
  report: (error: TRPCError, path: string | undefined, type: CallType | 'unknown', input: unknown) => void
}

/** A subscription whose generator runs in this socket's loop (until it ends, or hands off to a sink). */
export class Subscription {
  readonly controller = new AbortController()
  iterator: AsyncIterator<unknown> | null = null
  done = false

  constructor(
    readonly connection: SubscriptionOwner,
    readonly id: RequestId,
    readonly jsonrpc: '2.0' | undefined,
    readonly path: string,
    readonly input: unknown,
  ) {}

  /** Pulls items one at a time: no promise races, nothing kept between items but the iterator. */
  run(iterator: AsyncIterator<unknown>) {
    this.iterator = iterator
    this.pull()
  }

  private pull() {
    this.iterator!.next().then(
      result => this.item(result),
      (cause: unknown) => this.failed(cause),
    )
  }

  private item(result: IteratorResult<unknown>) {
    if (this.done) return
    if (result.done) {
      this.done = true
      this.connection.ended(this, true)
      return
    }
    try {
      this.connection.emit(this, result.value)
    }
    catch (cause) {
      this.failed(cause)
      return
    }
    this.pull()
  }

  private failed(cause: unknown) {
    const error = getTRPCErrorFromUnknown(cause)
    if (this.done) {
      // After a stop, an AbortError is how a generator is expected to end.
      if (!isAbortError(error.cause)) this.connection.report(error, this.path, 'subscription', this.input)
      return
    }
    this.done = true
    this.controller.abort()
    // A generator that threw is finished already; one whose item could not be sent is returned.
    this.iterator?.return?.().catch(() => {})
    this.connection.respondWithError(this.id, this.jsonrpc, error, 'subscription', this.path, this.input)
    this.connection.ended(this, false)
  }

  /** `subscription.stop`, or the socket closed: the generator is told (its signal) and returned. */
  stop() {
    if (this.done) return
    this.done = true
    this.controller.abort()
    this.iterator?.return?.().catch((cause: unknown) => {
      const error = getTRPCErrorFromUnknown(cause)
      if (!isAbortError(error.cause)) this.connection.report(error, this.path, 'subscription', this.input)
    })
    this.connection.ended(this, false)
  }
}
