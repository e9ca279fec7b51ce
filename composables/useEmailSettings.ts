import type { DigestSettings, DigestUpdateInput } from '~~/shared/schemas/notification'

/** Settings → Email: digest choices, preview and test email (server: notification.digest.*). */
export function useEmailSettings() {
  const { $trpc } = useNuxtApp()
  const toast = useToast()
  const settings = useState<DigestSettings | null>('email-settings', () => null)
  const errors = ref<Record<string, string>>({})
  const preview = ref<{ empty: true } | { empty: false, subject: string, html: string } | null>(null)
  const busy = ref<'' | 'save' | 'preview' | 'test'>('')

  async function load() {
    settings.value = await $trpc.notification.digest.get.query()
  }

  async function update(patch: DigestUpdateInput) {
    busy.value = 'save'
    errors.value = {}
    try {
      settings.value = await $trpc.notification.digest.update.mutate(patch)
      toast.success('Email settings saved')
    }
    catch (err) {
      errors.value = fieldErrors(err)
      toast.error(errorMessage(err))
    }
    finally {
      busy.value = ''
    }
  }

  async function loadPreview(period: 'daily' | 'weekly') {
    busy.value = 'preview'
    try {
      preview.value = await $trpc.notification.digest.preview.query({ period })
    }
    catch (err) {
      toast.error(errorMessage(err))
    }
    finally {
      busy.value = ''
    }
  }

  async function sendTest() {
    busy.value = 'test'
    try {
      const result = await $trpc.notification.digest.sendTest.mutate()
      if (result.delivery === 'none') toast.error('No test email was sent: this server has no SMTP server configured (SMTP_URL).')
      else toast.success(result.delivery === 'files' ? `Test email written to the development mailbox (${result.to})` : `Test email sent to ${result.to}`)
    }
    catch (err) {
      toast.error(errorMessage(err))
    }
    finally {
      busy.value = ''
    }
  }

  return { settings, errors, preview, busy, load, update, loadPreview, sendTest }
}

/** After sign-in: the browser's time zone, kept by the server unless the user chose one. */
export async function sendBrowserTimeZone() {
  const timeZone = Intl.DateTimeFormat().resolvedOptions().timeZone
  if (!timeZone) return
  try {
    await useNuxtApp().$trpc.notification.digest.detectTimeZone.mutate({ timeZone })
  }
  catch {
    // Not worth bothering the user: the zone can be set in Settings → Email.
  }
}
