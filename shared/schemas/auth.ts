import { z } from 'zod'
import { idSchema, int4, text } from './common'

export const emailSchema = text().trim().toLowerCase().pipe(z.email('Enter a valid email address').max(254))

export const usernameSchema = text()
  .trim()
  .toLowerCase()
  .min(3, 'At least 3 characters')
  .max(32, 'At most 32 characters')
  .regex(/^[a-z0-9][a-z0-9_-]*$/, 'Letters, digits, "-" and "_" only, starting with a letter or digit')

export const passwordSchema = text()
  .min(10, 'At least 10 characters')
  .max(256, 'At most 256 characters')

export const displayNameSchema = text().trim().min(1, 'Required').max(80, 'At most 80 characters')

export const registerInput = z.object({
  email: emailSchema,
  username: usernameSchema,
  name: displayNameSchema,
  password: passwordSchema,
})
export type RegisterInput = z.infer<typeof registerInput>

export const loginInput = z.object({
  /** email or username */
  login: text().trim().toLowerCase().min(1, 'Required').max(254),
  password: text().min(1, 'Required').max(256),
})
export type LoginInput = z.infer<typeof loginInput>

export const apiTokenCreateInput = z.object({
  name: text().trim().min(1, 'Required').max(80, 'At most 80 characters'),
  /** days until expiry; null for a token that never expires */
  expiresInDays: int4({ min: 1, max: 365 }).nullable().default(30),
})
export type ApiTokenCreateInput = z.infer<typeof apiTokenCreateInput>

export const apiTokenRevokeInput = z.object({ id: idSchema })

export const changePasswordInput = z.object({
  currentPassword: text().min(1, 'Required').max(256, 'At most 256 characters'),
  newPassword: passwordSchema,
}).refine(v => v.newPassword !== v.currentPassword, { path: ['newPassword'], message: 'Choose a password other than the current one' })
export type ChangePasswordInput = z.infer<typeof changePasswordInput>
