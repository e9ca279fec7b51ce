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

export function renderMarkdown(source: string): string {
  return md.render(source)
}
