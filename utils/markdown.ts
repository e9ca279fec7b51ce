import MarkdownIt from 'markdown-it'

// html: false escapes any HTML in the source, so user text is never executed; markdown-it's
// validateLink already refuses javascript:/vbscript:/data: URLs (data:image/gif|png|jpeg|webp excepted).
const md = new MarkdownIt({ html: false, linkify: true, breaks: true })

const defaultLinkOpen = md.renderer.rules.link_open
  ?? ((tokens, idx, options, _env, self) => self.renderToken(tokens, idx, options))
md.renderer.rules.link_open = (tokens, idx, options, env, self) => {
  tokens[idx]!.attrSet('target', '_blank')
  tokens[idx]!.attrSet('rel', 'noopener noreferrer nofollow')
  return defaultLinkOpen(tokens, idx, options, env, self)
}

/**
 * Whether an image may load where the text is shown: a path on this origin (`/files/a.png`,
 * `a.png`) or an inline `data:image/…`. Anything with a scheme or a host (`https://…`, `//host/…`)
 * would be fetched from elsewhere each time someone opens the task — a tracking pixel that tells its
 * owner who read it, when and from which address.
 */
export function isLocalImage(src: string): boolean {
  if (/^data:image\//i.test(src)) return true
  const trimmed = src.trim()
  if (trimmed.startsWith('//') || trimmed.startsWith('\\') || trimmed.startsWith('/\\')) return false
  return !/^[a-z][a-z0-9+.-]*:/i.test(trimmed)
}

const defaultImage = md.renderer.rules.image!
md.renderer.rules.image = (tokens, idx, options, env, self) => {
  const token = tokens[idx]!
  const src = token.attrGet('src') ?? ''
  if (isLocalImage(src)) return defaultImage(tokens, idx, options, env, self)
  // A remote image becomes a link to it: the reader sees where it points and decides to open it.
  const alt = self.renderInlineAsText(token.children ?? [], options, env) || src
  const href = md.utils.escapeHtml(src)
  return `<a href="${href}" target="_blank" rel="noopener noreferrer nofollow" class="markdown-remote-image">${md.utils.escapeHtml(alt)}</a>`
}

/** Where an `@username` points, or null when the name is nobody the reader can see (left as text). */
export type MentionResolver = (username: string) => { href: string, name: string, self?: boolean } | null

/** `@username` as the notifier reads it (shared/schemas/notification.ts): not inside a word or an email address. */
const mentionAt = /^@([a-z0-9][a-z0-9_-]{2,31})(?![\w-])/i

// A mention becomes its own link token: markdown-it escapes its attributes and text like any other,
// and a mention inside a link's text, code or an email address stays plain text.
md.inline.ruler.before('emphasis', 'mention', (state, silent) => {
  // linkLevel (inside a link's text) is in markdown-it 14's StateInline but not in its typings.
  if (state.src.charCodeAt(state.pos) !== 0x40 /* @ */ || ((state as { linkLevel?: number }).linkLevel ?? 0) > 0) return false
  const resolve = (state.env as { mention?: MentionResolver } | undefined)?.mention
  if (!resolve) return false
  if (state.pos > 0 && /[\w@.-]/.test(state.src[state.pos - 1]!)) return false
  const match = mentionAt.exec(state.src.slice(state.pos))
  if (!match) return false
  const target = resolve(match[1]!.toLowerCase())
  if (!target) return false
  if (!silent) {
    const open = state.push('mention_open', 'a', 1)
    open.attrs = [['href', target.href], ['class', target.self ? 'mention mention-self' : 'mention'], ['title', target.name]]
    state.push('text', '', 0).content = match[0]
    state.push('mention_close', 'a', -1)
  }
  state.pos += match[0].length
  return true
})

/** Markdown as HTML (user HTML escaped); with `mention`, known `@username`s become highlighted links. */
export function renderMarkdown(source: string, options: { mention?: MentionResolver } = {}): string {
  return md.render(source, { mention: options.mention })
}
