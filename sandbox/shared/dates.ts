// Calendar dates (`YYYY-MM-DD`) as the channel sandboxes read them off the wire. The sandboxes keep
// their own arithmetic rather than borrow Skerry's: a date bug shared by client and server would
// cancel out in every test. Days are counted in UTC, so no time zone or DST shifts a date.
const PATTERN = /^(\d{4})-(\d{2})-(\d{2})$/;
const DAY = 86_400_000;

/** Whether `text` names a real calendar day (2027-02-30 does not). */
export function isIsoDate(text: string): boolean {
  const parts = PATTERN.exec(text);
  if (!parts) return false;
  const [year, month, day] = [Number(parts[1]), Number(parts[2]), Number(parts[3])];
  const at = new Date(Date.UTC(year, month - 1, day));
  return at.getUTCFullYear() === year && at.getUTCMonth() === month - 1 && at.getUTCDate() === day;
}

function epochDay(date: string): number {
  return Date.parse(`${date}T00:00:00.000Z`) / DAY;
}

function fromEpochDay(day: number): string {
  return new Date(day * DAY).toISOString().slice(0, 10);
}

/** `date` moved by `days` (negative: earlier). */
export function addDays(date: string, days: number): string {
  return fromEpochDay(epochDay(date) + days);
}

/** How many days `to` lies after `from` (a stay's nights: check-in to check-out). */
export function daysBetween(from: string, to: string): number {
  return epochDay(to) - epochDay(from);
}

/** Every day from `first` to `last`, both included (OTA Start/End are inclusive); empty when `last` is earlier. */
export function datesThrough(first: string, last: string): string[] {
  const days: string[] = [];
  for (let day = epochDay(first); day <= epochDay(last); day += 1) days.push(fromEpochDay(day));
  return days;
}

/** The nights a guest sleeps: check-in up to, not including, check-out. */
export function nightsOf(checkIn: string, checkOut: string): string[] {
  return datesThrough(checkIn, addDays(checkOut, -1));
}
