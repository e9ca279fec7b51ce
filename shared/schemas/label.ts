import { z } from 'zod'
import { idSchema } from './common'
import { labelSchema } from './task'

/**
 * Label colours: a fixed palette rather than any hex value, so every chip keeps its contrast in
 * both themes (assets/css defines `--label-<colour>-bg/-fg` for light and dark).
 */
export const labelColorValues = ['gray', 'red', 'orange', 'yellow', 'green', 'teal', 'blue', 'purple', 'pink'] as const
export const labelColorSchema = z.enum(labelColorValues, { error: 'Pick one of the colours' })
export type LabelColor = z.infer<typeof labelColorSchema>

export const labelColorLabels: Record<LabelColor, string> = {
  gray: 'Gray', red: 'Red', orange: 'Orange', yellow: 'Yellow', green: 'Green', teal: 'Teal', blue: 'Blue', purple: 'Purple', pink: 'Pink',
}

/** The colour of a task label that has no Label row (typed before labels existed, or by the API). */
export const DEFAULT_LABEL_COLOR: LabelColor = 'gray'

export const labelListInput = z.object({ projectId: idSchema })

export const labelCreateInput = z.object({
  projectId: idSchema,
  name: labelSchema,
  color: labelColorSchema.default(DEFAULT_LABEL_COLOR),
})
export type LabelCreateInput = z.input<typeof labelCreateInput>

export const labelUpdateInput = z.object({
  id: idSchema,
  patch: z
    .object({ name: labelSchema, color: labelColorSchema })
    .partial()
    .refine(patch => Object.keys(patch).length > 0, { message: 'Nothing to change' }),
})
export type LabelUpdateInput = z.input<typeof labelUpdateInput>

export interface LabelDto {
  id: string
  projectId: string
  name: string
  color: LabelColor
}
