import { describe, expect, it } from 'vitest'
import { addDays, duePeriods, localTime, type DigestPrefs } from '../../server/email/period'
import { cronMatches } from '../../server/email/schedule'
import { isPermanentFailure } from '../../server/email/transport'
import { parseEnv } from '../../server/utils/env'
import { digestUpdateInput, timeZoneSchema } from '../../shared/schemas/notification'

const prefs = (over: Partial<DigestPrefs> = {}): DigestPrefs => ({ daily: true, weekly: false, weekday: 1, hour: 8, timeZone: 'UTC', ...over })
const at = (iso: string) => new Date(iso)

describe('digest periods', () => {
  it('reads the local date, hour and weekday in the user\'s zone', () => {
    // 23:30 UTC on Sunday 2026-11-29 is already Monday 08:30 in Tokyo and still Sunday 18:30 in New York.
    expect(localTime(at('2026-11-29T23:30:00Z'), 'Asia/Tokyo')).toEqual({ date: '2026-11-30', hour: 8, weekday: 1 })
    expect(localTime(at('2026-11-29T23:30:00Z'), 'America/New_York')).toEqual({ date: '2026-11-29', hour: 18, weekday: 0 })
    expect(localTime(at('2026-11-29T23:30:00Z'), 'Not/AZone')).toEqual({ date: '2026-11-29', hour: 23, weekday: 0 })
  })

  it('is due from the chosen local hour on, keyed by the local date (a missed hour is caught up the same day)', () => {
    const tokyo = prefs({ timeZone: 'Asia/Tokyo' })
    expect(duePeriods(at('2026-11-29T22:59:00Z'), tokyo)).toEqual([])
    expect(duePeriods(at('2026-11-29T23:00:00Z'), tokyo)).toEqual([{ period: 'daily', periodStart: '2026-11-30' }])
    // Three hours late: still today's digest, the same key.
    expect(duePeriods(at('2026-11-30T02:00:00Z'), tokyo)).toEqual([{ period: 'daily', periodStart: '2026-11-30' }])
    expect(duePeriods(at('2026-11-30T02:00:00Z'), { ...tokyo, daily: false })).toEqual([])
  })

  it('sends the weekly digest on the chosen local weekday only, across the week boundary', () => {
    const weekly = prefs({ daily: false, weekly: true, weekday: 1, timeZone: 'Pacific/Auckland' })
    // Sunday 20:00 UTC = Monday 09:00 in Auckland (NZDT, +13).
    expect(duePeriods(at('2026-11-29T20:00:00Z'), weekly)).toEqual([{ period: 'weekly', periodStart: '2026-11-30' }])
    // Monday 20:00 UTC = Tuesday there: not the chosen day.
    expect(duePeriods(at('2026-11-30T20:00:00Z'), weekly)).toEqual([])
    expect(duePeriods(at('2026-11-29T20:00:00Z'), { ...weekly, weekday: 0 })).toEqual([])
  })

  it('survives daylight-saving changes: one period per local date, a skipped hour still sends', () => {
    const ny = prefs({ timeZone: 'America/New_York', hour: 1 })
    // 2026-11-01: 01:00–02:00 happens twice (EDT, then EST); both hours name the same period.
    expect(duePeriods(at('2026-11-01T05:30:00Z'), ny)).toEqual([{ period: 'daily', periodStart: '2026-11-01' }])
    expect(duePeriods(at('2026-11-01T06:30:00Z'), ny)).toEqual([{ period: 'daily', periodStart: '2026-11-01' }])
    // 2026-03-08: 02:00 does not exist; at 03:00 EDT the 02:00 digest is due.
    const spring = prefs({ timeZone: 'America/New_York', hour: 2 })
    expect(duePeriods(at('2026-03-08T06:59:00Z'), spring)).toEqual([])
    expect(localTime(at('2026-03-08T07:00:00Z'), 'America/New_York').hour).toBe(3)
    expect(duePeriods(at('2026-03-08T07:00:00Z'), spring)).toEqual([{ period: 'daily', periodStart: '2026-03-08' }])
  })

  it('adds days across month and year ends', () => {
    expect(addDays('2026-12-29', 7)).toBe('2027-01-05')
    expect(addDays('2028-02-28', 1)).toBe('2028-02-29')
  })
})

describe('digest schedule and settings', () => {
  it('matches DIGEST_CRON by minute', () => {
    expect(cronMatches('0 * * * *', new Date(2026, 10, 30, 9, 0, 42))).toBe(true)
    expect(cronMatches('0 * * * *', new Date(2026, 10, 30, 9, 1, 0))).toBe(false)
    expect(cronMatches('* * * * *', new Date(2026, 10, 30, 9, 17, 5))).toBe(true)
  })

  it('validates the email settings with clear messages', () => {
    expect(parseEnv({})).toMatchObject({ DIGEST_CRON: '0 * * * *', EMAIL_NOTIFY_DELAY_SECONDS: 300, MAIL_DIR: '.data/mail', mailFrom: 'TaskTracker Pro <no-reply@localhost>' })
    expect(parseEnv({ SMTP_URL: 'smtps://u:p@mail.example.com:465', MAIL_FROM: 'Tasks <t@example.com>', EMAIL_NOTIFY_DELAY_SECONDS: '0' })).toMatchObject({ mailFrom: 'Tasks <t@example.com>', EMAIL_NOTIFY_DELAY_SECONDS: 0 })
    expect(() => parseEnv({ SMTP_URL: 'http://mail.example.com' })).toThrow(/SMTP_URL must look like smtp:/)
    expect(() => parseEnv({ DIGEST_CRON: 'every hour' })).toThrow(/DIGEST_CRON must be a 5-field cron/)
    expect(() => parseEnv({ DIGEST_CRON: '61 * * * *' })).toThrow(/DIGEST_CRON/)
    expect(() => parseEnv({ EMAIL_NOTIFY_DELAY_SECONDS: '-1' })).toThrow(/EMAIL_NOTIFY_DELAY_SECONDS/)
  })

  it('validates IANA zones and digest fields', () => {
    expect(timeZoneSchema.parse('utc')).toBe('UTC')
    expect(timeZoneSchema.parse('Europe/Paris')).toBe('Europe/Paris')
    expect(timeZoneSchema.safeParse('Mars/Olympus').error?.issues[0]?.message).toMatch(/Unknown time zone/)
    expect(digestUpdateInput.safeParse({ hour: 24 }).error?.issues[0]).toMatchObject({ path: ['hour'], message: 'An hour is 0 to 23' })
    expect(digestUpdateInput.safeParse({ weekday: 7 }).error?.issues[0]).toMatchObject({ path: ['weekday'] })
  })

  it('tells permanent SMTP failures from temporary ones', () => {
    expect(isPermanentFailure({ responseCode: 550 })).toBe(true)
    expect(isPermanentFailure({ responseCode: 451 })).toBe(false)
    expect(isPermanentFailure({ code: 'ECONNECTION' })).toBe(false)
    expect(isPermanentFailure({ responseCode: 554, permanent: false })).toBe(false)
  })
})
