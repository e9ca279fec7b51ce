// A small load balancer for tests: HTTP requests and WebSocket upgrades go round-robin to the
// backends; a backend that refuses or drops the connection before answering anything is skipped
// (the next one is tried), as nginx's `proxy_next_upstream error` or HAProxy's `retry-on conn-failure` do.
import { createServer, request, type IncomingMessage } from 'node:http'
import { connect, type AddressInfo, type Socket } from 'node:net'

export interface Balancer {
  url: string
  /** Ports requests and upgrades are sent to, in turn (may be changed while running). */
  backends: number[]
  /** Upgrades forwarded, per backend port. */
  upgrades: Map<number, number>
  close: () => Promise<void>
}

/** The backends in round-robin order, starting after the one used last. */
function rotation(balancer: { backends: number[] }, counter: { next: number }): number[] {
  const list = [...balancer.backends]
  const start = counter.next++ % Math.max(1, list.length)
  return [...list.slice(start), ...list.slice(0, start)]
}

function rawHead(req: IncomingMessage): string {
  const lines = [`${req.method} ${req.url} HTTP/1.1`]
  for (let i = 0; i < req.rawHeaders.length; i += 2) lines.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`)
  return `${lines.join('\r\n')}\r\n\r\n`
}

export async function startBalancer(backends: number[]): Promise<Balancer> {
  const counter = { next: 0 }
  const upgrades = new Map<number, number>()
  const clientSockets = new Set<Socket>()
  const balancer: Balancer = { url: '', backends, upgrades, close: async () => {} }

  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => chunks.push(chunk))
    req.on('end', () => {
      const body = Buffer.concat(chunks)
      const order = rotation(balancer, counter)
      const attempt = (i: number) => {
        const port = order[i]
        if (port === undefined) {
          res.writeHead(502).end('no backend')
          return
        }
        // A fresh connection each time (no pooling): a refused or dropped one was never a request.
        const upstream = request({ host: '127.0.0.1', port, method: req.method, path: req.url, headers: req.headers, agent: false }, (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers)
          answer.pipe(res)
        })
        upstream.on('error', (error: NodeJS.ErrnoException) => {
          const neverAnswered = !res.headersSent && (error.code === 'ECONNREFUSED' || error.code === 'ECONNRESET')
          if (neverAnswered) attempt(i + 1)
          else res.destroy()
        })
        upstream.end(body)
      }
      attempt(0)
    })
  })

  server.on('upgrade', (req: IncomingMessage, client: Socket, head: Buffer) => {
    clientSockets.add(client)
    client.once('close', () => clientSockets.delete(client))
    client.on('error', () => {})
    const order = rotation(balancer, counter)
    const attempt = (i: number) => {
      const port = order[i]
      if (port === undefined) {
        client.end('HTTP/1.1 502 Bad Gateway\r\nconnection: close\r\ncontent-length: 0\r\n\r\n')
        return
      }
      const upstream = connect(port, '127.0.0.1')
      let answered = false
      let ended = false
      // Dropped before it answered anything: try the next backend. Afterwards: the client's socket ends too.
      const onEnd = () => {
        if (ended) return
        ended = true
        if (answered) return client.destroy()
        upstream.destroy()
        attempt(i + 1)
      }
      upstream.once('connect', () => {
        upstream.write(rawHead(req))
        if (head.length) upstream.write(head)
      })
      upstream.once('data', (first: Buffer) => {
        answered = true
        upgrades.set(port, (upgrades.get(port) ?? 0) + 1)
        client.write(first)
        upstream.pipe(client)
        client.pipe(upstream)
      })
      upstream.on('error', onEnd)
      upstream.once('close', onEnd)
      client.once('close', () => upstream.destroy())
    }
    attempt(0)
  })

  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  balancer.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  balancer.close = () => new Promise<void>((resolve) => {
    for (const socket of clientSockets) socket.destroy()
    server.closeAllConnections()
    server.close(() => resolve())
  })
  return balancer
}
