import { useState } from 'react';
import { api, must } from '../api';
import { dateTime, money } from '../format';
import { usePoll } from '../hooks';
import { Badge, Empty, ErrorNote } from '../ui';

const PROVIDERS = ['stripe', 'paypal', 'swish', 'mobilepay'] as const;
const STATUSES = ['created', 'requires_action', 'processing', 'requires_capture', 'succeeded', 'failed', 'canceled', 'expired', 'partially_refunded', 'refunded'] as const;

interface Filters {
  provider?: (typeof PROVIDERS)[number];
  status?: (typeof STATUSES)[number];
  reference?: string;
  from?: string;
  to?: string;
  q?: string;
}

export function Payments() {
  const [draft, setDraft] = useState<Filters>({});
  const [filters, setFilters] = useState<Filters>({});
  const [cursors, setCursors] = useState<string[]>([]);
  const cursor = cursors.at(-1);
  const { data, error } = usePoll(
    async () =>
      must(
        await api.GET('/payments', {
          params: {
            query: {
              ...filters,
              // Whole days in the browser's time zone, the To day included.
              from: filters.from ? new Date(`${filters.from}T00:00`).toISOString() : undefined,
              to: filters.to ? new Date(new Date(`${filters.to}T00:00`).getTime() + 86_400_000).toISOString() : undefined,
              cursor,
              limit: 25,
            },
          },
        }),
      ),
    [JSON.stringify(filters), cursor],
  );
  const set = (field: keyof Filters) => (event: { target: { value: string } }) => setDraft({ ...draft, [field]: event.target.value || undefined });

  return (
    <>
      <h1>Payments</h1>
      <form
        className="filters"
        onSubmit={(event) => {
          event.preventDefault();
          setCursors([]);
          setFilters(draft);
        }}
      >
        <label>
          Search
          <input type="search" value={draft.q ?? ''} onChange={set('q')} placeholder="pay_…, provider reference or booking" />
        </label>
        <label>
          Provider
          <select value={draft.provider ?? ''} onChange={set('provider')}>
            <option value="">Any</option>
            {PROVIDERS.map((provider) => (
              <option key={provider}>{provider}</option>
            ))}
          </select>
        </label>
        <label>
          Status
          <select value={draft.status ?? ''} onChange={set('status')}>
            <option value="">Any</option>
            {STATUSES.map((status) => (
              <option key={status}>{status}</option>
            ))}
          </select>
        </label>
        <label>
          Reference
          <input value={draft.reference ?? ''} onChange={set('reference')} />
        </label>
        <label>
          From
          <input type="date" value={draft.from ?? ''} onChange={set('from')} />
        </label>
        <label>
          To
          <input type="date" value={draft.to ?? ''} onChange={set('to')} />
        </label>
        <button type="submit" className="primary">
          Apply filters
        </button>
      </form>
      <ErrorNote error={error} />
      {data && data.items.length === 0 && (
        <Empty>No payments match. Clear the filters, or start one with POST /payments or npx skerry payments create.</Empty>
      )}
      {data && data.items.length > 0 && (
        <table>
          <caption>Payments, newest first</caption>
          <thead>
            <tr>
              <th scope="col">Payment</th>
              <th scope="col">Created</th>
              <th scope="col">Provider</th>
              <th scope="col">Status</th>
              <th scope="col" className="num">Amount</th>
              <th scope="col" className="num">Refunded</th>
              <th scope="col">Reference</th>
            </tr>
          </thead>
          <tbody>
            {data.items.map((payment) => (
              <tr key={payment.paymentId} data-payment={payment.paymentId}>
                <td>
                  <a href={`#/payments/${payment.paymentId}`}>{payment.paymentId}</a>
                </td>
                <td>{dateTime(payment.createdAt)}</td>
                <td>{payment.provider}</td>
                <td>
                  <Badge value={payment.status} />
                  {payment.failureReason && <span className="why"> {payment.failureReason}</span>}
                </td>
                <td className="num">{money(payment.amount.value, payment.amount.currency)}</td>
                <td className="num">{payment.amountRefunded ? money(payment.amountRefunded, payment.amount.currency) : '—'}</td>
                <td>{payment.reference}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <div className="pager">
        <button type="button" disabled={cursors.length === 0} onClick={() => setCursors(cursors.slice(0, -1))}>
          Previous page
        </button>
        <button type="button" disabled={!data?.nextCursor} onClick={() => data?.nextCursor && setCursors([...cursors, data.nextCursor])}>
          Next page
        </button>
      </div>
    </>
  );
}
