import type { NotificationChannelName, NotificationType } from '~~/shared/schemas/notification'

type PreferenceRow = { type: Exclude<NotificationType, 'summary'>, channel: NotificationChannelName, enabled: boolean, isDefault: boolean }
type MuteRow = Awaited<ReturnType<ReturnType<typeof useNuxtApp>['$trpc']['notification']['mutes']['query']>>[number]

/** The settings page: preferences per type × channel, the sound switch, and mutes. */
export function useNotificationSettings() {
  const nuxtApp = useNuxtApp()
  const store = useNotificationsStore()
  const toast = useToast()
  const preferences = useState<PreferenceRow[]>('notification-preferences', () => [])
  const mutes = useState<MuteRow[]>('notification-mutes', () => [])

  async function load() {
    const [prefs, list] = await Promise.all([
      nuxtApp.$trpc.notification.preferences.get.query(),
      nuxtApp.$trpc.notification.mutes.query(),
    ])
    preferences.value = prefs.preferences
    store.sound = prefs.sound
    mutes.value = list
  }

  async function setPreference(type: PreferenceRow['type'], channel: NotificationChannelName, enabled: boolean) {
    const before = preferences.value
    preferences.value = before.map(p => (p.type === type && p.channel === channel ? { ...p, enabled, isDefault: false } : p))
    try {
      preferences.value = (await nuxtApp.$trpc.notification.preferences.update.mutate({ preferences: [{ type, channel, enabled }] })).preferences
    }
    catch (err) {
      preferences.value = before
      toast.error(`Could not save the preference: ${errorMessage(err)}`)
    }
  }

  async function setSound(on: boolean) {
    const before = store.sound
    store.sound = on
    try {
      await nuxtApp.$trpc.notification.preferences.update.mutate({ sound: on })
    }
    catch (err) {
      store.sound = before
      toast.error(`Could not save the sound setting: ${errorMessage(err)}`)
    }
  }

  async function mute(input: { projectId?: string, taskId?: string, until: Date | null }) {
    try {
      const created = await nuxtApp.$trpc.notification.mute.mutate(input)
      mutes.value = [created, ...mutes.value.filter(m => !(m.projectId === created.projectId && m.taskId === created.taskId))]
      toast.success('Muted')
    }
    catch (err) {
      toast.error(`Could not mute: ${errorMessage(err)}`)
    }
  }

  async function unmute(id: string) {
    const before = mutes.value
    mutes.value = before.filter(m => m.id !== id)
    try {
      await nuxtApp.$trpc.notification.unmute.mutate({ id })
    }
    catch (err) {
      mutes.value = before
      toast.error(`Could not unmute: ${errorMessage(err)}`)
    }
  }

  return { preferences, sound: computed(() => store.sound), mutes, load, setPreference, setSound, mute, unmute }
}
