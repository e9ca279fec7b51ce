import { z } from 'zod'

export const emailSchema = z.string().trim().toLowerCase().pipe(z.email('Enter a valid email address').max(254))

export const usernameSchema = z
  .string()
  .trim()
  .toLowerCase()
  .min(3, 'At least 3 characters')
  .max(32, 'At most 32 characters')
  .regex(/^[a-z0-9][a-z0-9_-]*$/, 'Letters, digits, "-" and "_" only, starting with a letter or digit')

export const passwordSchema = z
  .string()
  .min(10, 'At least 10 characters')
  .max(256, 'At most 256 characters')

export const displayNameSchema = z.string().trim().min(1, 'Required').max(80, 'At most 80 characters')

export const registerInput = z.object({
  email: emailSchema,
  username: usernameSchema,
  name: displayNameSchema,
  password: passwordSchema,
})
export type RegisterInput = z.infer<typeof registerInput>

export const loginInput = z.object({
  /** email or username */
  login: z.string().trim().toLowerCase().min(1, 'Required').max(254),
  password: z.string().min(1, 'Required').max(256),
})
export type LoginInput = z.infer<typeof loginInput>

export const apiTokenCreateInput = z.object({
  name: z.string().trim().min(1, 'Required').max(80, 'At most 80 characters'),
  /** days until expiry; null for a token that never expires */
  expiresInDays: z.number().int().min(1).max(365).nullable().default(30),
})
export type ApiTokenCreateInput = z.infer<typeof apiTokenCreateInput>

export const apiTokenRevokeInput = z.object({ id: z.string().min(1).max(64) })

export const changePasswordInput = z.object({
  currentPassword: z.string().min(1, 'Required').max(256, 'At most 256 characters'),
  newPassword: passwordSchema,
}).refine(v => v.newPassword !== v.currentPassword, { path: ['newPassword'], message: 'Choose a password other than the current one' })
export type ChangePasswordInput = z.infer<typeof changePasswordInput>
