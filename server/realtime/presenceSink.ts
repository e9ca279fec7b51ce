import { WS_OPEN, type SendGate } from './sendGate'
import { BoundSink, presenceFrame } from './wireFrames'

/** Direct presence frames written and dropped (reader behind: presence is ephemeral), for tests and metrics. */
export const presenceFanoutMetrics = { framesWritten: 0, framesDropped: 0 }

/**
 * One `presence.onProject` subscription past tRPC's loop (decision 0005 applied to presence): the
 * project's hub hands it each coalesced patch, the patch is serialized once for all its watchers on
 * this instance and the frame built once per subscription id — what the adapter would send for an
 * untracked item — and written as an ephemeral frame (dropped for a reader far behind, like the
 * adapter's presence frames). Messages that arrive before the sink is attached wait, in order.
 */
export class PresenceSink extends BoundSink {
  private pending: object[] = []
  ended = false

  /** A message for this subscriber: sent now when attached, else kept until {@link attach}. */
  deliver(message: object) {
    if (this.ended) return
    if (!this.gate) {
      this.pending.push(message)
      return
    }
    this.write(message)
  }

  attach(gate: SendGate) {
    if (!this.prefix || this.ended) return
    this.gate = gate
    const pending = this.pending
    this.pending = []
    for (const message of pending) this.write(message)
  }

  detach() {
    this.ended = true
    this.gate = null
    this.pending = []
  }

  /** The messages waiting for {@link attach}, handed back (the sink was never attached). */
  takePending(): object[] {
    const pending = this.pending
    this.pending = []
    return pending
  }

  private write(message: object) {
    const gate = this.gate!
    if (gate.sendFrame(presenceFrame(this.prefix, message), true)) presenceFanoutMetrics.framesWritten++
    else if (gate.socket.readyState !== WS_OPEN || gate.closedSlow) this.detach()
    else presenceFanoutMetrics.framesDropped++
  }
}
