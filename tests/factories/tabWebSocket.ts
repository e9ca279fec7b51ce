// A browser-like WebSocket for tests of the tab's socket client in the Nuxt test environment.
import { WebSocket as NodeWebSocket, type ClientOptions } from 'ws'

/**
 * A browser-like WebSocket over Node's `ws` (the test DOM has none). A wrapper, not a subclass: `ws`
 * calls its own `close()` to answer the server's close frame, which a browser socket never does, and
 * the tab's socket class must only see the closes the tab asks for.
 */
export class TabWebSocket extends EventTarget {
  static readonly CONNECTING = 0
  static readonly OPEN = 1
  static readonly CLOSING = 2
  static readonly CLOSED = 3
  readonly CONNECTING = 0
  readonly OPEN = 1
  readonly CLOSING = 2
  readonly CLOSED = 3
  private readonly inner: NodeWebSocket

  /** `options.headers`: what a browser adds by itself (its cookies on the upgrade) */
  constructor(url: string | URL, protocols?: string | string[], options?: ClientOptions) {
    super()
    this.inner = new NodeWebSocket(url, protocols, options)
    this.inner.on('open', () => this.dispatchEvent(new Event('open')))
    this.inner.on('message', (data, isBinary) => this.dispatchEvent(Object.assign(new Event('message'), { data: isBinary ? data : data.toString() })))
    this.inner.on('error', () => this.dispatchEvent(new Event('error')))
    this.inner.on('close', (code, reason) => this.dispatchEvent(Object.assign(new Event('close'), { code, reason: reason.toString(), wasClean: true })))
  }

  get readyState() {
    return this.inner.readyState
  }

  send(data: string) {
    this.inner.send(data)
  }

  close(code?: number, reason?: string) {
    this.inner.close(code, reason)
  }
}
export const BrowserLikeWebSocket = TabWebSocket as unknown as typeof WebSocket
