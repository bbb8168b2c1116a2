// The feed an OTA imports: the nights it must not sell as all-day events (VALUE=DATE, DTEND the day
// after the last night, RFC 5545 3.6.1), consecutive nights of one kind in one event, built with
// ical-generator. "Reserved" or "Closed" and nothing else: whoever holds the URL learns no guest.
import { createHash } from 'node:crypto';
import ical, { ICalCalendarMethod } from 'ical-generator';
import { addDays } from '../../domain/dates';

export interface FeedNight {
  date: string;
  kind: 'reserved' | 'closed';
}

const SUMMARY: Record<FeedNight['kind'], string> = { reserved: 'Reserved', closed: 'Closed' };

/** Consecutive nights of one kind as one stay: `to` is the exclusive end (check-out). */
export function feedEvents(nights: readonly FeedNight[]): Array<{ from: string; to: string; kind: FeedNight['kind'] }> {
  const events: Array<{ from: string; to: string; kind: FeedNight['kind'] }> = [];
  for (const night of [...nights].sort((a, b) => a.date.localeCompare(b.date))) {
    const last = events.at(-1);
    if (last && last.kind === night.kind && last.to === night.date) last.to = addDays(night.date, 1);
    else events.push({ from: night.date, to: addDays(night.date, 1), kind: night.kind });
  }
  return events;
}

const utcMidnight = (date: string) => new Date(`${date}T00:00:00Z`);

/** The calendar text and its strong validator (same nights, same ETag: the DTSTAMP is the last change). */
export function buildIcalFeed(input: { feedId: string; name: string; nights: readonly FeedNight[]; lastModified: Date }): { body: string; etag: string } {
  const calendar = ical({ name: input.name, prodId: { company: 'Skerry', product: 'Skerry channel manager', language: 'EN' }, method: ICalCalendarMethod.PUBLISH });
  for (const event of feedEvents(input.nights)) {
    calendar.createEvent({
      id: `${event.from}-${event.kind}-${input.feedId}@skerry`,
      start: utcMidnight(event.from),
      end: utcMidnight(event.to),
      allDay: true,
      summary: SUMMARY[event.kind],
      stamp: input.lastModified,
    });
  }
  const body = calendar.toString();
  return { body, etag: `"${createHash('sha256').update(body).digest('base64url')}"` };
}
