import { defineEventHandler, getQuery, readRawBody, sendRedirect, setResponseStatus } from 'h3'
import { unsubscribeWithToken } from '../../../email/settings'
import { DomainError } from '../../../services/errors'
import { getAppDatabase } from '../../../utils/database'

// RFC 8058 one-click: mail clients POST `List-Unsubscribe=One-Click` to the List-Unsubscribe URL,
// without cookies; the signed token in the URL says who and what. A GET (someone opening the URL)
// goes to the page, which explains and asks first.
export default defineEventHandler(async (event) => {
  const token = String(getQuery(event).token ?? '')
  if (event.method === 'GET' || event.method === 'HEAD') {
    return sendRedirect(event, `/email/unsubscribe?token=${encodeURIComponent(token)}`, 303)
  }
  if (event.method !== 'POST') {
    setResponseStatus(event, 405)
    return { error: 'Use POST' }
  }
  const body = (await readRawBody(event)) ?? ''
  if (!new URLSearchParams(body).getAll('List-Unsubscribe').includes('One-Click')) {
    setResponseStatus(event, 400)
    return { error: 'Expected the body List-Unsubscribe=One-Click (RFC 8058)' }
  }
  try {
    const result = await unsubscribeWithToken((await getAppDatabase()).prisma, token, false)
    return { ok: true, unsubscribed: result.what }
  }
  catch (error) {
    if (!(error instanceof DomainError)) throw error
    setResponseStatus(event, 400)
    return { error: error.message }
  }
})
