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
