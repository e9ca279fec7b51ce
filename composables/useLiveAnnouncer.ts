import { systemClock } from '~/composables/useIdle'
import { createAnnouncer, type Announcer } from '~/utils/liveAnnouncement'

let announcer: Announcer | null = null

/**
 * The app's one polite live region for changes other people make (AppLiveAnnouncer renders it):
 * `announce` queues a sentence, rate-limited by `createAnnouncer`. Each announcement gets a new id
 * so the region re-renders even when the same words come twice.
 */
export function useLiveAnnouncer() {
  const current = useState('live-announcement', () => ({ id: 0, text: '' }))
  function announce(text: string | null) {
    if (!text || !import.meta.client) return
    announcer ??= createAnnouncer((said) => {
      current.value = { id: current.value.id + 1, text: said }
    }, systemClock)
    announcer.say(text)
  }
  return { current: readonly(current), announce }
}
