// A real SMTP server on a loopback port (the `smtp-server` package) for email tests: every message
// the app sends arrives here, parsed; `reply` can answer a message with an SMTP error code.
import type { AddressInfo } from 'node:net'
import { simpleParser, type ParsedMail } from 'mailparser'
import { SMTPServer } from 'smtp-server'

export interface TestSmtp {
  url: string
  port: number
  received: ParsedMail[]
  /** how many DATA commands were answered (accepted or not) */
  attempts: number
  /** decides the answer to each message: null accepts, a code (451, 550…) rejects */
  reply: ((mail: ParsedMail) => number | null) | null
  /** resolves with the next accepted message (or the one already waiting) */
  next: (timeoutMs?: number) => Promise<ParsedMail>
  /** forgets messages nobody awaited (between tests) */
  reset: () => void
  close: () => Promise<void>
}

export async function startTestSmtp(): Promise<TestSmtp> {
  const waiting: ParsedMail[] = []
  const waiters: ((m: ParsedMail) => void)[] = []
  const state: TestSmtp = {
    url: '',
    port: 0,
    received: [],
    attempts: 0,
    reply: null,
    next: (timeoutMs = 15_000) => {
      const ready = waiting.shift()
      if (ready) return Promise.resolve(ready)
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no email arrived within ${timeoutMs} ms`)), timeoutMs)
        waiters.push((m) => {
          clearTimeout(timer)
          resolve(m)
        })
      })
    },
    reset: () => {
      waiting.length = 0
      state.reply = null
    },
    close: () => new Promise(resolve => server.close(() => resolve())),
  }
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onAuth: (_auth, _session, callback) => callback(null, { user: 'test' }),
    onData(stream, _session, callback) {
      simpleParser(stream).then((mail) => {
        state.attempts++
        const code = state.reply?.(mail) ?? null
        if (code) {
          callback(Object.assign(new Error(code >= 500 ? 'Mailbox unavailable' : 'Try again later'), { responseCode: code }))
          return
        }
        state.received.push(mail)
        callback()
        const waiter = waiters.shift()
        if (waiter) waiter(mail)
        else waiting.push(mail)
      }, (error: Error) => callback(error))
    },
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', () => resolve()))
  state.port = (server.server.address() as AddressInfo).port
  state.url = `smtp://test:secret@127.0.0.1:${state.port}`
  return state
}
