import type { Priority, TaskStatus } from '~~/shared/schemas/common'
import type { TaskPatchField, useTask } from '~/composables/useTask'
import type { TaskDetail, TaskPatchInput } from '~/utils/api'

/** The task panel's form: what the inputs edit (dates and labels as the inputs hold them). */
export interface TaskDraftFields {
  title: string
  description: string
  status: TaskStatus
  priority: Priority
  assigneeId: string
  dueDate: string
  labels: string
}

/**
 * The task panel's edits: the draft and its diff against the loaded task (`patch`, `dirty`), kept
 * on this device (utils/taskDrafts.ts), saved through useTask; live changes of others rebased under
 * the user's edits; the conflict dialog's choices put back into the form.
 */
export function useTaskDraft(t: ReturnType<typeof useTask>, options: { taskId: () => string, taskRef: () => string }) {
  const { task, conflict, load, save, fetchLatest, rebase, syncBase } = t
  const toast = useToast()
  const draft = reactive<TaskDraftFields>({ title: '', description: '', status: 'TODO', priority: 'NONE', assigneeId: '', dueDate: '', labels: '' })
  const saveForm = useForm({
    fields: ['title', 'description', 'status', 'priority', 'assigneeId', 'dueDate', 'labels'],
    send: () => save({ ...patch.value }),
    done: () => {
      if (task.value) reset(task.value)
      toast.success(`${options.taskRef()} saved`)
    },
    failure: () => `Could not save ${options.taskRef()}`,
    // A conflict keeps the user's edits in the form; useTask's `conflict` opens the dialog.
    explain: err => (errorCode(err) === 'CONFLICT' && !!conflict.value) || undefined,
  })
  const saving = saveForm.busy
  /** Said after the conflict dialog or a rebase, so the user knows what the form now holds. */
  const notice = ref('')

  function reset(from: TaskDetail) {
    Object.assign(draft, {
      title: from.title,
      description: from.description,
      status: from.status,
      priority: from.priority,
      assigneeId: from.assigneeId ?? '',
      dueDate: toDateInput(from.dueDate),
      labels: from.labels.join(', '),
    })
  }

  /** Puts one field's value (as the API has it) into the form. */
  function setDraft(field: TaskPatchField, value: unknown) {
    switch (field) {
      case 'title':
      case 'description':
        draft[field] = typeof value === 'string' ? value : ''
        break
      case 'status':
        draft.status = value as TaskStatus
        break
      case 'priority':
        draft.priority = value as Priority
        break
      case 'assigneeId':
        draft.assigneeId = typeof value === 'string' ? value : ''
        break
      case 'dueDate':
        draft.dueDate = value instanceof Date || typeof value === 'string' ? toDateInput(value) : ''
        break
      case 'labels':
        draft.labels = Array.isArray(value) ? value.join(', ') : ''
    }
  }

  /** Only the fields the user changed, in the API's shape. */
  const patch = computed<TaskPatchInput>(() => {
    const current = task.value
    if (!current) return {}
    const p: TaskPatchInput = {}
    if (draft.title.trim() !== current.title) p.title = draft.title.trim()
    // The description is saved live, as the shared document (TaskDescriptionLive), never by this form.
    if (draft.status !== current.status) p.status = draft.status
    if (draft.priority !== current.priority) p.priority = draft.priority
    if ((draft.assigneeId || null) !== current.assigneeId) p.assigneeId = draft.assigneeId || null
    if (draft.dueDate !== toDateInput(current.dueDate)) p.dueDate = fromDateInput(draft.dueDate)
    const labels = parseLabels(draft.labels)
    if (labels.join('\u0000') !== current.labels.join('\u0000')) p.labels = labels
    return p
  })
  const dirty = computed(() => Object.keys(patch.value).length > 0)

  // Unsaved edits are kept on this device per task and field.
  const auth = useAuthStore()
  const stored = draftStorage(() => (auth.user ? taskDraftKey(auth.user.id, options.taskId()) : null), DRAFT_FIELDS)
  /** When the form holds a draft restored from an earlier visit (shown as "Draft"). */
  const draftFrom = ref<number | null>(null)
  let storedReady = false
  function restoreDraft() {
    const kept = stored.read()
    if (kept) Object.assign(draft, kept.fields)
    draftFrom.value = kept && dirty.value ? kept.at : null
    storedReady = true
  }
  watch(draft, () => {
    if (!storedReady || !task.value) return
    stored.write(Object.fromEntries(Object.keys(patch.value).map(f => [f, draft[f as keyof TaskDraftFields]])))
    if (!dirty.value) draftFrom.value = null
  }, { deep: true })
  useLeaveGuard(() => dirty.value, () => `${options.taskRef()} has unsaved changes. They are kept as a draft on this device. Leave anyway?`)

  // A fresh server copy replaces the form only when the user has nothing unsaved.
  watch(() => task.value, (fresh, old) => {
    if (!fresh || (old && old.id === fresh.id && dirty.value)) return
    reset(fresh)
    if (!old || old.id !== fresh.id) restoreDraft()
  }, { immediate: true })

  // Live changes from others: refresh a clean form at once; with unsaved edits, keep them and show
  // their values in the fields the user did not touch (useTask's rebase decides the next save's base).
  const board = useBoardStore()
  const changedRemotely = ref(false)
  /** Others changed a field the user is editing: saving lets the server merge or ask. */
  const overlapsRemotely = ref(false)
  const deletedRemotely = ref(false)
  watch(() => board.byId[options.taskId()], (live, before) => {
    if (!live && before && task.value) deletedRemotely.value = true
    else onRemoteVersion()
  })
  function onRemoteVersion() {
    const current = task.value
    const live = board.byId[options.taskId()]
    if (!current || !live || saving.value || live.version <= current.version) return
    if (dirty.value) void rebaseOntoLatest()
    else void refreshClean()
  }
  /** The latest copy under the user's unsaved edits. */
  async function rebaseOntoLatest() {
    let fresh: TaskDetail
    try {
      fresh = await fetchLatest()
    }
    catch {
      return // Deleted or out of reach: its own event says so.
    }
    if (!dirty.value) return refreshClean()
    const edited = Object.keys(patch.value) as TaskPatchField[]
    const theirs = rebase(fresh, edited)
    if (!theirs.length) return
    for (const field of theirs) if (!edited.includes(field)) setDraft(field, fresh[field])
    changedRemotely.value = true
    overlapsRemotely.value ||= theirs.some(field => edited.includes(field))
  }
  /** Loads the latest copy into a form without edits (unless the user starts typing meanwhile). */
  async function refreshClean() {
    const before = JSON.stringify(draft)
    await load()
    if (task.value && JSON.stringify(draft) === before) reset(task.value)
  }
  async function showTheirs() {
    changedRemotely.value = false
    await load()
    if (task.value) reset(task.value)
  }
  watch(dirty, (d) => {
    if (d) return
    changedRemotely.value = false
    overlapsRemotely.value = false
    syncBase()
  })

  async function submit() {
    if (!dirty.value || saving.value || conflict.value) return
    notice.value = ''
    await saveForm.submit()
    // A live change that came in while saving was left for now.
    onRemoteVersion()
  }

  /** The dialog's choices go into the form and are saved on the current version (what useTask now shows). */
  async function resolveConflict(values: Partial<Record<TaskPatchField, unknown>>) {
    for (const [field, value] of Object.entries(values)) setDraft(field as TaskPatchField, value)
    conflict.value = null
    if (dirty.value) await submit()
    else notice.value = 'Their version is kept; nothing else to save.'
  }

  /** Closing the dialog keeps their values for the conflicting fields; other edits stay unsaved in the form. */
  function keepTheirs() {
    const c = conflict.value
    if (!c) return
    for (const f of c.conflicts) setDraft(f.field as TaskPatchField, c.current[f.field as TaskPatchField])
    conflict.value = null
    notice.value = dirty.value ? 'Their changes are shown. Your other edits are not saved yet.' : 'Their version is kept.'
  }

  return {
    draft,
    dirty,
    reset,
    saving,
    fieldErrors: saveForm.errors,
    notice,
    draftFrom,
    changedRemotely,
    overlapsRemotely,
    deletedRemotely,
    submit,
    showTheirs,
    resolveConflict,
    keepTheirs,
  }
}
