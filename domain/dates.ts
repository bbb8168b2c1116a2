// Calendar dates as `YYYY-MM-DD` strings, computed in UTC so they never shift with a time zone.
// Pure and deterministic: workflows, activities, the API and the sandboxes share these.

/** An inclusive range of nights: `from` and `to` are both part of it (as OTA Start/End are). */
export interface DateRange {
  from: string;
  to: string;
}

const DAY_MS = 86_400_000;
const ISO_DATE = /^\d{4}-\d{2}-\d{2}$/;

export function isIsoDate(value: string): boolean {
  if (!ISO_DATE.test(value)) return false;
  const ms = Date.parse(`${value}T00:00:00Z`);
  return !Number.isNaN(ms) && new Date(ms).toISOString().slice(0, 10) === value;
}

export function toDayNumber(date: string): number {
  return Math.round(Date.parse(`${date}T00:00:00Z`) / DAY_MS);
}

export function fromDayNumber(day: number): string {
  return new Date(day * DAY_MS).toISOString().slice(0, 10);
}

export function addDays(date: string, days: number): string {
  return fromDayNumber(toDayNumber(date) + days);
}

/** Whole days from `from` to `to` (positive when `to` is later). */
export function daysBetween(from: string, to: string): number {
  return toDayNumber(to) - toDayNumber(from);
}

/** Every date of an inclusive range. */
export function eachDate(range: DateRange): string[] {
  const out: string[] = [];
  for (let day = toDayNumber(range.from), end = toDayNumber(range.to); day <= end; day += 1) out.push(fromDayNumber(day));
  return out;
}

/** The nights of a stay: check-in included, check-out excluded. */
export function stayNights(checkIn: string, checkOut: string): DateRange {
  return { from: checkIn, to: addDays(checkOut, -1) };
}

export function rangeLength(range: DateRange): number {
  return daysBetween(range.from, range.to) + 1;
}
