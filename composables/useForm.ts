import type { ZodType } from 'zod'

export interface UseFormOptions<Parsed, Result> {
  /** The form's field names: errors the server names by a nested path (`patch.title`) land on these. */
  fields: readonly string[]
  /** Checked before sending, usually the server's own input schema, so the two never disagree. */
  schema?: ZodType<Parsed>
  /** What the schema checks (the form's values). */
  values?: () => unknown
  /** Checks of the form's own (a required field the schema leaves to a default): field → message. */
  validate?: () => Record<string, string> | undefined
  /** Sends the form; gets the schema's output when there is a schema. */
  send: (parsed: Parsed | undefined) => Promise<Result>
  /** After a success: reset, toast, navigate. */
  done?: (result: Result) => unknown
  /**
   * Start of the error toast (`Could not create the project`). Without it the error is shown in
   * `formError` (an alert in the form) instead of a toast.
   */
  failure?: string | (() => string)
  /**
   * An error the caller shows its own way (a conflict dialog), or a sentence for a known code:
   * return true to show nothing more, a string to show it instead of the generic message.
   */
  explain?: (err: unknown) => true | string | undefined
}

/**
 * One submit / busy / field errors / toast for every form. Errors the server or the schema pins
 * to a field are shown beside that field; the rest go to the toast (or `formError`), never lost.
 */
export function useForm<Parsed = unknown, Result = unknown>(options: UseFormOptions<Parsed, Result>) {
  const toast = useToast()
  const busy = ref(false)
  const errors = ref<Record<string, string>>({})
  const formError = ref('')

  function clear() {
    errors.value = {}
    formError.value = ''
  }

  function showProblem(message: string) {
    const failure = typeof options.failure === 'function' ? options.failure() : options.failure
    if (failure) toast.error(`${failure}: ${message}`)
    else formError.value = message
  }

  /** Puts `byPath` onto the form's fields; returns the errors that found no field. */
  function place(byPath: Record<string, string>): Record<string, string> {
    const { fields, unmatched } = mapFieldErrors(byPath, options.fields)
    errors.value = fields
    return unmatched
  }

  /** Resolves true when the form was sent and accepted. */
  async function submit(): Promise<boolean> {
    if (busy.value) return false
    clear()
    const own = options.validate?.()
    if (own && Object.keys(own).length) {
      place(own)
      return false
    }
    let parsed: Parsed | undefined
    if (options.schema) {
      const result = options.schema.safeParse(options.values?.())
      if (!result.success) {
        const unmatched = place(issueErrors(result.error.issues))
        if (Object.keys(unmatched).length) showProblem(Object.values(unmatched).join(' '))
        return false
      }
      parsed = result.data
    }
    busy.value = true
    try {
      const result = await options.send(parsed)
      await options.done?.(result)
      return true
    }
    catch (err) {
      const explained = options.explain?.(err)
      if (explained === true) return false
      const unmatched = place(fieldErrors(err))
      const placed = Object.keys(errors.value).length > 0
      if (typeof explained === 'string') showProblem(explained)
      else if (!placed) showProblem(errorMessage(err))
      else if (Object.keys(unmatched).length) showProblem(Object.values(unmatched).join(' '))
      return false
    }
    finally {
      busy.value = false
    }
  }

  return { busy, errors, formError, submit, clear }
}
