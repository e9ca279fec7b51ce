export type DomainErrorCode = 'BAD_REQUEST' | 'UNAUTHORIZED' | 'FORBIDDEN' | 'NOT_FOUND' | 'CONFLICT' | 'TOO_MANY_REQUESTS'

/**
 * What services throw. One tRPC middleware maps it to a TRPCError with the same code, so services
 * stay free of transport concerns. `field` points a form at the input that caused it.
 */
export class DomainError extends Error {
  constructor(
    readonly code: DomainErrorCode,
    message: string,
    readonly details: { field?: string, retryAfterSeconds?: number, [key: string]: unknown } = {},
  ) {
    super(message)
    this.name = 'DomainError'
  }
}

export const notFound = (what: string, id: string) => new DomainError('NOT_FOUND', `${what} ${id} not found`)
export const forbidden = (message: string) => new DomainError('FORBIDDEN', message)
