import { useState } from 'react';
import { api, idempotencyKey, must, session, sentence } from '../api';
import { dateTime, money } from '../format';
import { usePoll } from '../hooks';
import type { Discrepancy, ReconciliationRun } from '../shapes';
import { Badge, ConfirmAction, Empty, ErrorNote, useCan } from '../ui';

const PROVIDERS = ['stripe', 'paypal', 'swish', 'mobilepay'] as const;

async function downloadCsv(runId: string) {
  const response = await fetch(`/reconciliations/${encodeURIComponent(runId)}/report?format=csv`, { headers: { authorization: `Bearer ${session.key() ?? ''}` } });
  if (!response.ok) throw new Error(sentence(response.status, await response.json().catch(() => undefined)));
  const link = document.createElement('a');
  link.href = URL.createObjectURL(await response.blob());
  link.download = `${runId}.csv`;
  link.click();
  URL.revokeObjectURL(link.href);
}

/** A person's decision, as the server recorded it (who, when, why). */
type Decided = Discrepancy & { healable?: boolean; resolvedBy?: string | null; resolvedAt?: string | null; resolutionNote?: string | null; healResult?: string | null };

/**
 * Heal (healable ones: the provider is read and the payment told, as a run heals) and ignore (with a
 * reason), each confirmed and sent with its own Idempotency-Key. Only what is still for a person.
 */
function DiscrepancyActions({ runId, d, reload }: { runId: string; d: Decided; reload: () => Promise<unknown> }) {
  const [reason, setReason] = useState('');
  const path = { id: runId, discrepancyId: d.id };
  const subject = d.paymentId ? `payment ${d.paymentId}` : `transaction ${d.providerReference ?? d.id}`;
  return (
    <>
      {d.healable && (
        <ConfirmAction
          label="Heal"
          question={`Read ${subject} at the provider and tell its workflow what the provider says?`}
          done="Heal sent; the resolution shows what the ledger now says."
          run={async () => {
            must(await api.POST('/reconciliations/{id}/discrepancies/{discrepancyId}/heal', { params: { path, header: { 'idempotency-key': idempotencyKey() } }, body: {} }));
            await reload();
          }}
        />
      )}
      <ConfirmAction
        label="Ignore"
        question={`Leave this ${d.kind.replaceAll('_', ' ')} of ${subject} as it is? It stays in the report, marked ignored by your key.`}
        done="Ignored."
        run={async () => {
          if (reason.trim().length < 3) throw new Error('Say why it is left as it is (at least 3 characters).');
          must(await api.POST('/reconciliations/{id}/discrepancies/{discrepancyId}/ignore', { params: { path, header: { 'idempotency-key': idempotencyKey() } }, body: { reason: reason.trim() } }));
          await reload();
        }}
      >
        <label>
          Why leave it as it is
          <input type="text" value={reason} required minLength={3} maxLength={500} onChange={(event) => setReason(event.target.value)} />
        </label>
      </ConfirmAction>
    </>
  );
}

function Report({ runId }: { runId: string }) {
  const can = useCan();
  const report = usePoll(async () => must(await api.GET('/reconciliations/{id}/report', { params: { path: { id: runId }, query: { format: 'json' } } })), [runId], 3000);
  const [csvError, setCsvError] = useState<string>();
  const r = report.data;
  return (
    <section aria-labelledby="report">
      <h2 id="report">Report of {runId}</h2>
      <ErrorNote error={report.error ?? csvError} />
      <button type="button" onClick={() => downloadCsv(runId).catch((err: Error) => setCsvError(err.message))}>
        Download CSV
      </button>
      {r && (
        <p>
          {r.summary.discrepancies} discrepancies: {r.summary.healed} healed, {r.summary.healing} healing,{' '}
          {(r.summary as { ignored?: number }).ignored ?? 0} ignored, {r.summary.forAPerson} for a person.
        </p>
      )}
      {r && r.discrepancies.length === 0 && <Empty>No discrepancies: the ledger and the provider agree for this period.</Empty>}
      {r && r.discrepancies.length > 0 && (
        <table>
          <thead>
            <tr>
              <th scope="col">Kind</th>
              <th scope="col">Payment</th>
              <th scope="col">Ledger</th>
              <th scope="col">Provider</th>
              <th scope="col">Explanation</th>
              <th scope="col">Resolution</th>
              <th scope="col">Evidence</th>
              {can('ops:admin') && <th scope="col">Actions</th>}
            </tr>
          </thead>
          <tbody>
            {(r.discrepancies as Decided[]).map((d) => (
              <tr key={d.id} data-discrepancy={d.kind} data-discrepancy-id={d.id}>
                <td>
                  <Badge value={d.kind} />
                </td>
                <td>{d.paymentId ? <a href={`#/payments/${d.paymentId}`}>{d.paymentId}</a> : (d.providerReference ?? '—')}</td>
                <td>
                  {d.ledgerStatus ?? '—'} {d.ledgerAmount !== null && d.currency ? money(d.ledgerAmount, d.currency) : ''}
                </td>
                <td>
                  {d.providerStatus ?? '—'} {d.providerAmount !== null && d.currency ? money(d.providerAmount, d.currency) : ''}
                </td>
                <td>{d.explanation}</td>
                <td>
                  <Badge value={d.resolution} />
                  {d.resolvedBy && d.resolution !== 'for_a_person' && (
                    <small className="decision">
                      {' '}
                      by {d.resolvedBy}
                      {d.resolvedAt ? `, ${dateTime(d.resolvedAt)}` : ''}
                      {d.resolutionNote ? `: ${d.resolutionNote}` : ''}
                    </small>
                  )}
                  {d.resolution === 'for_a_person' && d.healResult && <small> (last heal: {d.healResult.replaceAll('_', ' ')})</small>}
                </td>
                <td>
                  <details>
                    <summary>Evidence</summary>
                    <pre>{JSON.stringify(d.evidence, null, 2)}</pre>
                  </details>
                </td>
                {can('ops:admin') && <td>{d.resolution === 'for_a_person' && <DiscrepancyActions runId={runId} d={d} reload={report.reload} />}</td>}
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

export function Reconciliation() {
  const can = useCan();
  const runs = usePoll(async () => (must(await api.GET('/reconciliations', { params: { query: { limit: 50 } } })) as { runs: ReconciliationRun[] }).runs, [], 2000);
  const [provider, setProvider] = useState<(typeof PROVIDERS)[number]>('stripe');
  const [day, setDay] = useState(new Date().toISOString().slice(0, 10));
  const [selected, setSelected] = useState<string>();

  return (
    <>
      <h1>Reconciliation</h1>
      {can('ops:admin') && (
        <div className="filters">
          <label>
            Provider
            <select value={provider} onChange={(event) => setProvider(event.target.value as typeof provider)}>
              {PROVIDERS.map((name) => (
                <option key={name}>{name}</option>
              ))}
            </select>
          </label>
          <label>
            Day (UTC)
            <input type="date" value={day} onChange={(event) => setDay(event.target.value)} />
          </label>
          <ConfirmAction
            label="Run reconciliation"
            question={`Compare ${provider}'s transactions of ${day} with the ledger?`}
            done="Reconciliation started; it shows below as it runs."
            run={async () => {
              const started = must(await api.POST('/reconciliations', { body: { provider, from: day } })) as { id: string };
              setSelected(started.id);
              await runs.reload();
            }}
          />
        </div>
      )}
      <ErrorNote error={runs.error} />
      {runs.data && runs.data.length === 0 && <Empty>No reconciliation has run yet. Start one above, or wait for the nightly schedule.</Empty>}
      {runs.data && runs.data.length > 0 && (
        <table>
          <caption>Runs, newest period first (live)</caption>
          <thead>
            <tr>
              <th scope="col">Run</th>
              <th scope="col">Status</th>
              <th scope="col">Phase</th>
              <th scope="col" className="num">Transactions</th>
              <th scope="col" className="num">Matched</th>
              <th scope="col" className="num">Discrepancies</th>
              <th scope="col" className="num">Healed</th>
              <th scope="col">Started</th>
            </tr>
          </thead>
          <tbody>
            {runs.data.map((run) => (
              <tr key={run.id}>
                <td>
                  <button type="button" className="link" aria-current={run.id === selected ? 'true' : undefined} onClick={() => setSelected(run.id)}>
                    {run.id}
                  </button>
                </td>
                <td>
                  <Badge value={run.status} />
                </td>
                <td>{run.phase}</td>
                <td className="num">{run.counts.transactions}</td>
                <td className="num">{run.counts.matched}</td>
                <td className="num">{run.counts.discrepancies}</td>
                <td className="num">{run.counts.healed}</td>
                <td>{dateTime(run.startedAt)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {selected && <Report runId={selected} />}
    </>
  );
}
