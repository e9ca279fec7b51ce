import { mountSuspended } from '@nuxt/test-utils/runtime'
import { describe, expect, it } from 'vitest'
import TaskMarkdown from '~/components/task/TaskMarkdown.vue'

async function render(source: string) {
  const wrapper = await mountSuspended(TaskMarkdown, { props: { source } })
  return wrapper.element as HTMLElement
}

describe('TaskMarkdown images', () => {
  it('renders an image from another origin as a link, never as an <img> that would load it', async () => {
    const el = await render('Look: ![status](https://tracker.example.net/p.gif?u=42) and ![](//cdn.example.net/x.png)')
    expect(el.querySelectorAll('img')).toHaveLength(0)
    expect(el.innerHTML).not.toMatch(/<img[^>]+example\.net/)
    const links = [...el.querySelectorAll('a')]
    expect(links.map(a => [a.textContent, a.getAttribute('href'), a.getAttribute('rel')])).toEqual([
      ['status', 'https://tracker.example.net/p.gif?u=42', 'noopener noreferrer nofollow'],
      ['//cdn.example.net/x.png', '//cdn.example.net/x.png', 'noopener noreferrer nofollow'],
    ])
  })

  it('keeps images of this origin and inline data: images', async () => {
    const pixel = 'data:image/png;base64,iVBORw0KGgo='
    const el = await render(`![diagram](/uploads/diagram.png) ![dot](${pixel}) ![rel](img/a.png)`)
    expect([...el.querySelectorAll('img')].map(img => [img.getAttribute('src'), img.getAttribute('alt')])).toEqual([
      ['/uploads/diagram.png', 'diagram'],
      [pixel, 'dot'],
      ['img/a.png', 'rel'],
    ])
  })

  it('treats any scheme as remote, and a backslash cannot turn a path into another host', async () => {
    const el = await render('![b](HTTPS://evil.example/y.png) ![c](ftp://evil.example/z.png) ![a](/\\evil.example/x.png)')
    // markdown-it percent-encodes the backslash: the path stays on this origin (`/%5Cevil…`), unlike `/\\evil…`.
    expect([...el.querySelectorAll('img')].map(img => img.getAttribute('src'))).toEqual(['/%5Cevil.example/x.png'])
    expect([...el.querySelectorAll('a')].map(a => a.getAttribute('href'))).toEqual(['HTTPS://evil.example/y.png', 'ftp://evil.example/z.png'])
  })
})

describe('TaskMarkdown @mentions', () => {
  async function renderInProject(source: string) {
    const { useProjectsStore } = await import('~/stores/projects')
    const { useAuthStore } = await import('~/stores/auth')
    const projects = useProjectsStore()
    projects.setCurrent({ id: 'p1', name: 'Web', key: 'WEB', description: '', eventSeq: 1, conflictPolicy: 'merge', createdAt: new Date(), updatedAt: new Date(), role: 'MEMBER' })
    projects.setMembers([
      { id: 'u1', username: 'ana', name: 'Ana Lopez', status: 'AVAILABLE', lastSeenAt: null, role: 'MEMBER' },
      { id: 'u2', username: 'Ben_2', name: 'Ben <b>', status: 'AVAILABLE', lastSeenAt: null, role: 'OWNER' },
    ] as never)
    useAuthStore().user = { id: 'u2' } as never
    return render(source)
  }

  it('links members’ @usernames to the team page, case-insensitively, and marks my own', async () => {
    const el = await renderInProject('Hi @ana and @ben_2, see **@ANA**.')
    const links = [...el.querySelectorAll('a.mention')]
    expect(links.map(a => [a.textContent, a.getAttribute('href')])).toEqual([
      ['@ana', '/projects/p1/team#member-ana'],
      ['@ben_2', '/projects/p1/team#member-Ben_2'],
      ['@ANA', '/projects/p1/team#member-ana'],
    ])
    expect(links[0]!.getAttribute('title')).toBe('Ana Lopez')
    // The name is an escaped attribute (happy-dom leaves the entities in getAttribute; a browser decodes them).
    expect(links[1]!.getAttribute('title')).toMatch(/^Ben (<b>|&lt;b&gt;)$/)
    expect(links[1]!.classList.contains('mention-self')).toBe(true)
    expect(el.querySelector('b')).toBeNull()
  })

  it('leaves non-members, emails, code and link text alone, and escapes HTML around mentions', async () => {
    const el = await renderInProject('@nobody mail ana@ana.dev `@ana` [@ana](/x) <img src=x onerror=alert(1)>@ana')
    expect([...el.querySelectorAll('a.mention')].map(a => a.textContent)).toEqual(['@ana'])
    expect(el.querySelector('img')).toBeNull()
    expect(el.textContent).toContain('<img src=x onerror=alert(1)>')
    expect(el.querySelector('code')!.textContent).toBe('@ana')
  })
})
