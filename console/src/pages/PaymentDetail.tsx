import { useState } from 'react';
import { api, idempotencyKey, must } from '../api';
import { dateTime, money, toMinor } from '../format';
import { usePoll } from '../hooks';
import { Badge, ConfirmAction, Empty, ErrorNote, useCan } from '../ui';

/** The Temporal Web UI of `npm start`; another deployment sets its own once per browser. */
const temporalUi = () => localStorage.getItem('skerry.temporalUi') ?? 'http://127.0.0.1:8233';

export function PaymentDetail({ id }: { id: string }) {
  const can = useCan();
  const payment = usePoll(async () => must(await api.GET('/payments/{id}', { params: { path: { id } } })), [id]);
  const timeline = usePoll(async () => must(await api.GET('/payments/{id}/timeline', { params: { path: { id } } })), [id]);
  const [refundAmount, setRefundAmount] = useState('');
  const refresh = async () => {
    await Promise.all([payment.reload(), timeline.reload()]);
  };
  const p = payment.data;

  return (
    <>
      <p>
        <a href="#/payments">← All payments</a>
      </p>
      <h1>Payment {id}</h1>
      <ErrorNote error={payment.error} />
      {p && (
        <>
          <dl className="facts">
            <dt>Status</dt>
            <dd>
              <Badge value={p.status} />
              {p.failureReason && <span className="why"> {p.failureReason}</span>}
            </dd>
            <dt>Amount</dt>
            <dd>{money(p.amount.value, p.amount.currency)}</dd>
            <dt>Captured</dt>
            <dd>{money(p.amountCaptured, p.amount.currency)}</dd>
            <dt>Refunded</dt>
            <dd data-testid="refunded">{money(p.amountRefunded, p.amount.currency)}</dd>
            <dt>Provider</dt>
            <dd>
              {p.provider} {p.providerReference && <code>{p.providerReference}</code>}
            </dd>
            <dt>Reference</dt>
            <dd>{p.reference}</dd>
            <dt>Capture</dt>
            <dd>{p.captureMethod}</dd>
            <dt>Created</dt>
            <dd>{dateTime(p.createdAt)}</dd>
            <dt>Workflow</dt>
            <dd>
              <a href={`${temporalUi()}/namespaces/default/workflows/${encodeURIComponent(p.workflowId)}`} target="_blank" rel="noreferrer">
                {p.workflowId} in the Temporal Web UI
              </a>
            </dd>
          </dl>

          {(can('payments:write') || can('refunds:write')) && (
            <section aria-labelledby="actions">
              <h2 id="actions">Actions</h2>
              <div className="actions">
                {can('payments:write') && p.status === 'requires_capture' && (
                  <ConfirmAction
                    label="Capture"
                    question={`Capture ${money(p.amount.value, p.amount.currency)} now?`}
                    done="Capture requested."
                    run={async () => {
                      must(await api.POST('/payments/{id}/capture', { params: { path: { id }, header: { 'idempotency-key': idempotencyKey() } }, body: {} }));
                      await refresh();
                    }}
                  />
                )}
                {can('payments:write') && ['created', 'requires_action', 'requires_capture'].includes(p.status) && (
                  <ConfirmAction
                    label="Cancel"
                    question="Cancel this payment? The payer will not be charged."
                    done="Payment cancelled."
                    run={async () => {
                      must(await api.POST('/payments/{id}/cancel', { params: { path: { id }, header: { 'idempotency-key': idempotencyKey() } } }));
                      await refresh();
                    }}
                  />
                )}
                {can('refunds:write') && p.amountCaptured > p.amountRefunded && (
                  <ConfirmAction
                    label="Refund"
                    question={`Refund up to ${money(p.amountCaptured - p.amountRefunded, p.amount.currency)}. Leave the amount empty to refund all of it.`}
                    done="Refund requested."
                    run={async () => {
                      const amount = refundAmount.trim() ? toMinor(Number(refundAmount.replace(',', '.')), p.amount.currency) : undefined;
                      if (amount !== undefined && !(amount > 0)) throw new Error('Enter the amount to refund as a positive number, e.g. 12.50.');
                      must(
                        await api.POST('/payments/{id}/refunds', {
                          params: { path: { id }, header: { 'idempotency-key': idempotencyKey() } },
                          body: amount ? { amount } : {},
                        }),
                      );
                      setRefundAmount('');
                      await refresh();
                    }}
                  >
                    <label>
                      Amount to refund ({p.amount.currency})
                      <input inputMode="decimal" value={refundAmount} onChange={(event) => setRefundAmount(event.target.value)} />
                    </label>
                  </ConfirmAction>
                )}
              </div>
            </section>
          )}

          <section aria-labelledby="refunds">
            <h2 id="refunds">Refunds</h2>
            {p.refunds.length === 0 ? (
              <Empty>No refunds.</Empty>
            ) : (
              <table>
                <thead>
                  <tr>
                    <th scope="col">Refund</th>
                    <th scope="col" className="num">Amount</th>
                    <th scope="col">Status</th>
                  </tr>
                </thead>
                <tbody>
                  {p.refunds.map((refund) => (
                    <tr key={refund.refundId}>
                      <td>{refund.refundId}</td>
                      <td className="num">{money(refund.amount, p.amount.currency)}</td>
                      <td>
                        <Badge value={refund.status} />
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
          </section>
        </>
      )}

      <section aria-labelledby="timeline">
        <h2 id="timeline">Timeline</h2>
        <ErrorNote error={timeline.error} />
        {timeline.data?.items.length === 0 && <Empty>Nothing observed yet: the payment workflow records each webhook, poll and command here.</Empty>}
        {timeline.data && timeline.data.items.length > 0 && (
          <table>
            <thead>
              <tr>
                <th scope="col">When</th>
                <th scope="col">Came by</th>
                <th scope="col">Event</th>
                <th scope="col">Status</th>
                <th scope="col">Outcome</th>
              </tr>
            </thead>
            <tbody>
              {timeline.data.items.map((event) => (
                <tr key={event.eventId}>
                  <td>{dateTime(event.occurredAt)}</td>
                  <td>
                    <Badge value={event.kind} />
                  </td>
                  <td>{event.providerEventType}</td>
                  <td>
                    {event.statusBefore} → {event.statusAfter}
                  </td>
                  <td>{event.applied ? 'applied' : 'ignored'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
    </>
  );
}
