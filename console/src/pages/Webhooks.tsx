import { useState } from 'react';
import { api, must } from '../api';
import { dateTime } from '../format';
import { usePoll } from '../hooks';
import { Badge, ConfirmAction, Empty, ErrorNote, useCan } from '../ui';

const STATUSES = ['received', 'pending', 'delivered', 'parked', 'failed', 'unmatched', 'ignored', 'closed'] as const;

/** The payload as the inbox keeps it (redacted), fetched when a person opens it. */
function Payload({ id }: { id: number }) {
  const [payload, setPayload] = useState<string>();
  const [error, setError] = useState<string>();
  return (
    <details
      onToggle={async (event) => {
        if (!(event.target as HTMLDetailsElement).open || payload) return;
        try {
          setPayload(JSON.stringify(must(await api.GET('/webhooks/{id}', { params: { path: { id } } })).payload, null, 2));
        } catch (err) {
          setError((err as Error).message);
        }
      }}
    >
      <summary>Payload</summary>
      <ErrorNote error={error} />
      {payload && <pre>{payload}</pre>}
    </details>
  );
}

export function Webhooks() {
  const can = useCan();
  const [provider, setProvider] = useState('');
  const [status, setStatus] = useState<(typeof STATUSES)[number] | ''>('');
  const inbox = usePoll(
    async () => must(await api.GET('/webhooks', { params: { query: { provider: provider || undefined, status: status || undefined, limit: 100 } } })),
    [provider, status],
  );
  const replay = async (body: { ids?: number[]; fromId?: number; toId?: number; provider?: string }) => {
    const answer = must(await api.POST('/webhooks/replay', { body }));
    await inbox.reload();
    return answer;
  };
  const items = inbox.data?.items ?? [];
  const replayable = items.filter((row) => row.status !== 'ignored');

  return (
    <>
      <h1>Webhook inbox</h1>
      <form className="filters" onSubmit={(event) => event.preventDefault()}>
        <label>
          Provider
          <select value={provider} onChange={(event) => setProvider(event.target.value)}>
            <option value="">Any</option>
            {['stripe', 'paypal', 'swish', 'mobilepay', 'airbnb', 'booking_com', 'channex'].map((name) => (
              <option key={name}>{name}</option>
            ))}
          </select>
        </label>
        <label>
          Status
          <select value={status} onChange={(event) => setStatus(event.target.value as typeof status)}>
            <option value="">Any</option>
            {STATUSES.map((name) => (
              <option key={name}>{name}</option>
            ))}
          </select>
        </label>
      </form>
      {can('ops:admin') && replayable.length > 0 && (
        <ConfirmAction
          label="Replay the filtered set"
          question={`Deliver these ${replayable.length} events to their workflows again? Delivery is idempotent: an event a workflow has seen changes nothing.`}
          done="Replayed."
          run={() => replay({ ids: replayable.map((row) => row.id) })}
        />
      )}
      <ErrorNote error={inbox.error} />
      {inbox.data && items.length === 0 && (
        <Empty>No webhook events match. Events appear here as providers send them to the public door (/webhooks/&lt;provider&gt;).</Empty>
      )}
      {items.length > 0 && (
        <table>
          <caption>Newest first, live</caption>
          <thead>
            <tr>
              <th scope="col">Id</th>
              <th scope="col">Received</th>
              <th scope="col">Provider</th>
              <th scope="col">Event</th>
              <th scope="col">Status</th>
              <th scope="col" className="num">Attempts</th>
              <th scope="col">Payment</th>
              <th scope="col">Last error</th>
              {can('ops:admin') && <th scope="col">Replay</th>}
            </tr>
          </thead>
          <tbody>
            {items.map((row) => (
              <tr key={row.id} data-inbox={row.id}>
                <td>{row.id}</td>
                <td>{dateTime(row.receivedAt)}</td>
                <td>{row.provider}</td>
                <td>
                  {row.eventType}
                  <br />
                  <code>{row.eventId}</code>
                  <Payload id={row.id} />
                </td>
                <td>
                  <Badge value={row.status} />
                </td>
                <td className="num">{row.attempts}</td>
                <td>{row.paymentId ? <a href={`#/payments/${row.paymentId}`}>{row.paymentId}</a> : '—'}</td>
                <td className="why">{row.lastError ?? ''}</td>
                {can('ops:admin') && (
                  <td>
                    {row.status !== 'ignored' && (
                      <ConfirmAction label={`Replay ${row.id}`} question={`Deliver event ${row.eventId} again?`} done="Replayed." run={() => replay({ ids: [row.id] })} />
                    )}
                  </td>
                )}
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </>
  );
}
