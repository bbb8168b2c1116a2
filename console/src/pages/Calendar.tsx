import { Fragment, useEffect, useState } from 'react';
import { api, idempotencyKey, must } from '../api';
import { day, money, month, toMinor } from '../format';
import { usePoll } from '../hooks';
import { Empty, ErrorNote, useCan } from '../ui';

const CHANNEL_LABELS: Record<string, string> = { booking_com: 'Booking.com', airbnb: 'Airbnb', ical: 'iCal', channex: 'Channex', direct: 'Direct' };
const label = (channel: string) => CHANNEL_LABELS[channel] ?? channel;

function monthRange(first: string) {
  const start = new Date(`${first}T00:00:00Z`);
  const end = new Date(Date.UTC(start.getUTCFullYear(), start.getUTCMonth() + 1, 0));
  return { from: first, to: end.toISOString().slice(0, 10) };
}

function shiftMonth(first: string, by: number) {
  const start = new Date(`${first}T00:00:00Z`);
  return new Date(Date.UTC(start.getUTCFullYear(), start.getUTCMonth() + by, 1)).toISOString().slice(0, 10);
}

const nightsBetween = (a: string, b: string) => Math.round((Date.parse(`${b}T00:00:00Z`) - Date.parse(`${a}T00:00:00Z`)) / 86_400_000);

interface Selection {
  unitId: string;
  from: string;
  to: string;
}

function EditRange({ selection, currency, onDone }: { selection: Selection; currency: string; onDone: () => Promise<void> }) {
  const [available, setAvailable] = useState('');
  const [price, setPrice] = useState('');
  const [minNights, setMinNights] = useState('');
  const [closed, setClosed] = useState<'' | 'open' | 'closed'>('');
  const [message, setMessage] = useState<{ ok: boolean; text: string }>();
  const submit = async () => {
    const range: Record<string, unknown> = { from: selection.from, to: selection.to };
    if (available.trim()) range.available = Number(available);
    if (price.trim()) range.price = { value: toMinor(Number(price.replace(',', '.')), currency), currency };
    if (minNights.trim()) range.minNights = Number(minNights);
    if (closed) range.closed = closed === 'closed';
    try {
      if (Object.keys(range).length === 2) throw new Error('Change at least one of availability, price, minimum stay or open/closed.');
      must(await api.PUT('/units/{id}/calendar', { params: { path: { id: selection.unitId }, header: { 'idempotency-key': idempotencyKey() } as never }, body: { ranges: [range as never] } }));
      setMessage({ ok: true, text: `Saved ${selection.from} to ${selection.to}; the mapped channels are being told.` });
      await onDone();
    } catch (err) {
      setMessage({ ok: false, text: (err as Error).message });
    }
  };
  return (
    <form
      className="filters edit"
      aria-label="Edit the selected nights"
      onSubmit={(event) => {
        event.preventDefault();
        void submit();
      }}
    >
      <p>
        Editing {selection.from} – {selection.to}
      </p>
      <label>
        Available
        <input inputMode="numeric" value={available} onChange={(event) => setAvailable(event.target.value)} />
      </label>
      <label>
        Price per night ({currency})
        <input inputMode="decimal" value={price} onChange={(event) => setPrice(event.target.value)} />
      </label>
      <label>
        Minimum stay
        <input inputMode="numeric" value={minNights} onChange={(event) => setMinNights(event.target.value)} />
      </label>
      <label>
        Sale
        <select value={closed} onChange={(event) => setClosed(event.target.value as typeof closed)}>
          <option value="">Unchanged</option>
          <option value="open">Open</option>
          <option value="closed">Closed</option>
        </select>
      </label>
      <button type="submit" className="primary">
        Save nights
      </button>
      {message && (
        <p role={message.ok ? 'status' : 'alert'} className={message.ok ? 'ok' : 'error'}>
          {message.text}
        </p>
      )}
    </form>
  );
}

export function Calendar() {
  const can = useCan();
  const properties = usePoll(async () => must(await api.GET('/properties')), [], 0);
  const [propertyId, setPropertyId] = useState<string>();
  const [first, setFirst] = useState(() => new Date().toISOString().slice(0, 8) + '01');
  const [anchor, setAnchor] = useState<{ unitId: string; date: string }>();
  const [selection, setSelection] = useState<Selection>();
  useEffect(() => {
    if (!propertyId && properties.data?.properties[0]) setPropertyId(properties.data.properties[0].id);
  }, [properties.data, propertyId]);
  const range = monthRange(first);
  const grid = usePoll(
    async () => (propertyId ? must(await api.GET('/properties/{id}/calendar', { params: { path: { id: propertyId }, query: range } })) : undefined),
    [propertyId, first],
    3000,
  );
  const overbookings = usePoll(async () => must(await api.GET('/overbookings')), [], 5000);
  const property = properties.data?.properties.find((p) => p.id === propertyId);
  const dates = grid.data?.units[0]?.nights.map((night) => night.date) ?? [];

  const pick = (unitId: string, date: string, extend: boolean) => {
    if (!can('inventory:write')) return;
    if (extend && anchor && anchor.unitId === unitId) {
      const [from, to] = [anchor.date, date].sort() as [string, string];
      setSelection({ unitId, from, to });
    } else {
      setAnchor({ unitId, date });
      setSelection({ unitId, from: date, to: date });
    }
  };
  const selected = (unitId: string, date: string) => selection?.unitId === unitId && date >= selection.from && date <= selection.to;

  return (
    <>
      <h1>Calendar</h1>
      <ErrorNote error={properties.error ?? grid.error} />
      {properties.data && properties.data.properties.length === 0 && (
        <Empty>No properties yet. Create one with POST /properties and its units with POST /properties/:id/units.</Empty>
      )}
      {properties.data && properties.data.properties.length > 0 && (
        <div className="filters">
          <label>
            Property
            <select value={propertyId ?? ''} onChange={(event) => setPropertyId(event.target.value)}>
              {properties.data.properties.map((p) => (
                <option key={p.id} value={p.id}>
                  {p.name}
                </option>
              ))}
            </select>
          </label>
          <button type="button" onClick={() => setFirst(shiftMonth(first, -1))}>
            Previous month
          </button>
          <strong aria-live="polite">{month(first)}</strong>
          <button type="button" onClick={() => setFirst(shiftMonth(first, 1))}>
            Next month
          </button>
        </div>
      )}
      <p className="legend">
        <span className="sync sync-in_sync">in sync</span> <span className="sync sync-pending">pending</span> <span className="sync sync-failed">failed</span> <span className="sync sync-stale">stale</span> <span className="cell-closed">closed</span>{' '}
        <span className="cell-over">overbooked</span>
        {can('inventory:write') && ' · Select a night, then Shift-select (or Shift+Enter) another of the same unit to edit the range.'}
      </p>
      {grid.data && grid.data.units.length === 0 && <Empty>This property has no units. Add one with POST /properties/:id/units.</Empty>}
      {grid.data && grid.data.units.length > 0 && (
        <div className="scroll" tabIndex={0} role="region" aria-label={`Calendar of ${property?.name ?? ''}, ${month(first)}`}>
          <table className="calendar">
            <thead>
              <tr>
                <th scope="col">Unit</th>
                {dates.map((date) => (
                  <th scope="col" key={date}>
                    {day(date)}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {grid.data.units.map((unit) => {
                const over = new Set(
                  (overbookings.data?.overbookings ?? []).filter((o) => o.unitId === unit.id).flatMap((o) => dates.filter((d) => d >= o.checkIn && d < o.checkOut)),
                );
                const bars: Array<{ key: string; span: number; text?: string; channel?: string; hold?: boolean }> = [];
                for (let index = 0; index < dates.length; ) {
                  const date = dates[index]!;
                  const stay = unit.reservations.find((r) => (r.status === 'confirmed' || r.status === 'held') && r.checkIn <= date && r.checkOut > date);
                  if (!stay) {
                    bars.push({ key: date, span: 1 });
                    index += 1;
                    continue;
                  }
                  const span = Math.min(nightsBetween(date, stay.checkOut), dates.length - index);
                  bars.push({ key: `${stay.id}-${date}`, span, channel: stay.channel, hold: stay.status === 'held', text: `${label(stay.channel)}${stay.guestName ? ` · ${stay.guestName}` : ''}${stay.status === 'held' ? ' (hold)' : ''}` });
                  index += span;
                }
                return (
                  <Fragment key={unit.id}>
                    <tr data-unit={unit.id}>
                      <th scope="row" rowSpan={2}>
                        {unit.name}
                        <br />
                        <small>{unit.channels.map(label).join(', ') || 'no channels'}</small>
                      </th>
                      {unit.nights.map((night) => (
                        <td
                          key={night.date}
                          data-date={night.date}
                          className={[night.closed ? 'cell-closed' : '', over.has(night.date) ? 'cell-over' : '', night.booked > 0 ? 'cell-booked' : '', selected(unit.id, night.date) ? 'cell-selected' : ''].join(' ')}
                          tabIndex={can('inventory:write') ? 0 : undefined}
                          onClick={(event) => pick(unit.id, night.date, event.shiftKey)}
                          onKeyDown={(event) => {
                            if (event.key === 'Enter' || event.key === ' ') {
                              event.preventDefault();
                              pick(unit.id, night.date, event.shiftKey);
                            }
                          }}
                        >
                          {selected(unit.id, night.date) && <span className="sr-only">selected, </span>}
                          <span className="avail" title="available / allotment">
                            {night.available}/{night.allotment}
                          </span>
                          {night.price !== null && <span className="price">{money(night.price, property?.currency ?? 'EUR')}</span>}
                          {night.minNights !== null && night.minNights > 1 && <span className="min">min {night.minNights}</span>}
                          {night.closed && <span className="closed">closed</span>}
                          {over.has(night.date) && <span className="over">overbooked</span>}
                          <span className="channels">
                            {Object.entries(night.channels).map(([channel, told]) => (
                              <span key={channel} className={`sync sync-${told.state}`} data-channel={channel} data-state={told.state}>
                                {label(channel)}: {told.state.replace('_', ' ')}
                              </span>
                            ))}
                          </span>
                        </td>
                      ))}
                    </tr>
                    <tr className="bars">
                      {bars.map((bar) => (
                        <td key={bar.key} colSpan={bar.span}>
                          {bar.text && (
                            <span className={`bar bar-${bar.channel}${bar.hold ? ' bar-hold' : ''}`} data-channel={bar.channel}>
                              {bar.text}
                            </span>
                          )}
                        </td>
                      ))}
                    </tr>
                  </Fragment>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
      {selection && can('inventory:write') && property && <EditRange key={`${selection.unitId}${selection.from}${selection.to}`} selection={selection} currency={property.currency} onDone={grid.reload} />}
    </>
  );
}
