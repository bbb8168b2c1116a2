import { useEffect, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { api, must } from '../api';
import { money, percent } from '../format';
import { usePoll } from '../hooks';
import type { ReconciliationRun } from '../shapes';
import { Badge, Empty, ErrorNote } from '../ui';

const HOUR = 3_600_000;

/** Discrepancies still for a person: neither healed nor ignored (older servers send no `open`). */
const openOf = (run: ReconciliationRun) => {
  const counts = run.counts as ReconciliationRun['counts'] & { open?: number; ignored?: number };
  return counts.open ?? counts.discrepancies - counts.healed - (counts.ignored ?? 0);
};

function startOfToday() {
  const now = new Date();
  return new Date(now.getFullYear(), now.getMonth(), now.getDate());
}

function PaymentsWindow({ title, from }: { title: string; from: Date }) {
  const { data, error } = usePoll(async () => must(await api.GET('/payments/summary', { params: { query: { from: from.toISOString() } } })), [from.getTime()], 10_000);
  const total = data?.byStatus.reduce((sum, row) => sum + row.count, 0) ?? 0;
  return (
    <section aria-labelledby={`w-${title}`} className="card">
      <h2 id={`w-${title}`}>{title}</h2>
      <ErrorNote error={error} />
      {data && total === 0 && <Empty>No payments yet. They appear here as bookings are paid.</Empty>}
      {data && total > 0 && (
        <>
          <table>
            <caption>Payments by provider and status</caption>
            <thead>
              <tr>
                <th scope="col">Provider</th>
                <th scope="col">Status</th>
                <th scope="col" className="num">Payments</th>
              </tr>
            </thead>
            <tbody>
              {data.byStatus.map((row) => (
                <tr key={`${row.provider}-${row.status}`}>
                  <td>{row.provider}</td>
                  <td>
                    <Badge value={row.status} />
                  </td>
                  <td className="num">{row.count}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <table>
            <caption>Money per currency</caption>
            <thead>
              <tr>
                <th scope="col">Currency</th>
                <th scope="col" className="num">In</th>
                <th scope="col" className="num">Refunded</th>
              </tr>
            </thead>
            <tbody>
              {data.money.map((row) => (
                <tr key={row.currency}>
                  <td>{row.currency}</td>
                  <td className="num">{money(row.captured, row.currency)}</td>
                  <td className="num">{money(row.refunded, row.currency)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </section>
  );
}

function PerHourChart() {
  const holder = useRef<HTMLDivElement>(null);
  const since = Math.floor(Date.now() / HOUR) * HOUR - 23 * HOUR;
  const { data } = usePoll(async () => must(await api.GET('/payments/summary', { params: { query: { from: new Date(since).toISOString() } } })), [], 30_000);
  useEffect(() => {
    if (!holder.current || !data) return;
    const hours = Array.from({ length: 24 }, (_, index) => (since + index * HOUR) / 1000);
    const counts = hours.map((hour) => data.perHour.find((row) => Date.parse(row.hour) / 1000 === hour)?.count ?? 0);
    const plot = new uPlot(
      {
        width: Math.min(holder.current.clientWidth || 600, 900),
        height: 200,
        series: [{}, { label: 'Payments', stroke: '#1d4ed8', fill: 'rgba(29,78,216,0.15)' }],
        axes: [{}, { label: 'per hour' }],
      },
      [hours, counts],
      holder.current,
    );
    return () => plot.destroy();
  }, [data, since]);
  return (
    <section aria-labelledby="per-hour" className="card wide">
      <h2 id="per-hour">Payments per hour, last 24 hours</h2>
      <div ref={holder} role="img" aria-label={`Payments per hour; ${data?.perHour.reduce((sum, row) => sum + row.count, 0) ?? 0} in the last 24 hours`} />
    </section>
  );
}

const SERIES_COLOURS = ['#1d4ed8', '#b45309', '#047857', '#9d174d', '#4338ca', '#0e7490', '#7c2d12'];

type ProviderCalls = { from: string; providers: Array<{ provider: string; calls: number; errors: number; hours: Array<{ hour: string; calls: number; errors: number; errorRate: number | null; meanLatencyMs: number | null; maxLatencyMs: number | null }> }> };

/** One uPlot chart, one series per provider, over the same 24 hours. */
function ProviderChart({ data, label, unit, value }: { data: ProviderCalls; label: string; unit: string; value: (hour: ProviderCalls['providers'][number]['hours'][number]) => number | null }) {
  const holder = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (!holder.current) return;
    const hours = (data.providers[0]?.hours ?? []).map((hour) => Date.parse(hour.hour) / 1000);
    const plot = new uPlot(
      {
        width: Math.min(holder.current.clientWidth || 600, 900),
        height: 180,
        series: [{}, ...data.providers.map((p, index) => ({ label: p.provider, stroke: SERIES_COLOURS[index % SERIES_COLOURS.length], spanGaps: false }))],
        axes: [{}, { label: unit }],
      },
      [hours, ...data.providers.map((p) => p.hours.map(value))],
      holder.current,
    );
    return () => plot.destroy();
  }, [data, unit, value]);
  return <div ref={holder} role="img" aria-label={`${label} per provider and hour; the table below has the same figures`} />;
}

const latencyOf = (hour: ProviderCalls['providers'][number]['hours'][number]) => hour.meanLatencyMs;
const errorPercentOf = (hour: ProviderCalls['providers'][number]['hours'][number]) => (hour.errorRate === null ? null : Math.round(hour.errorRate * 1000) / 10);

/**
 * Provider latency and error rate per hour over the last 24 hours, from what the workers recorded
 * of every provider call (GET /providers/calls); the table says the same for those who do not see the chart.
 */
function ProviderCallsChart() {
  const { data, error } = usePoll(async () => must(await api.GET('/providers/calls', { params: { query: { hours: 24 } } })) as ProviderCalls, [], 30_000);
  const called = data?.providers.filter((p) => p.calls > 0) ?? [];
  return (
    <section aria-labelledby="provider-calls" className="card wide">
      <h2 id="provider-calls">Provider latency and error rate, last 24 hours</h2>
      <ErrorNote error={error} />
      {data && called.length === 0 && <Empty>No provider calls in the last 24 hours. They appear here as payments are made.</Empty>}
      {data && called.length > 0 && (
        <>
          <h3>Mean latency (ms)</h3>
          <ProviderChart data={data} label="Mean latency in milliseconds" unit="ms" value={latencyOf} />
          <h3>Error rate (%)</h3>
          <ProviderChart data={data} label="Error rate in percent" unit="%" value={errorPercentOf} />
          <table data-testid="provider-calls">
            <caption>Provider calls, last 24 hours</caption>
            <thead>
              <tr>
                <th scope="col">Provider</th>
                <th scope="col" className="num">Calls</th>
                <th scope="col" className="num">Errors</th>
                <th scope="col" className="num">Error rate</th>
                <th scope="col" className="num">Mean latency</th>
                <th scope="col" className="num">Slowest</th>
              </tr>
            </thead>
            <tbody>
              {called.map((p) => {
                const withCalls = p.hours.filter((hour) => hour.calls > 0);
                const mean = withCalls.reduce((sum, hour) => sum + (hour.meanLatencyMs ?? 0) * hour.calls, 0) / p.calls;
                const slowest = Math.max(...withCalls.map((hour) => hour.maxLatencyMs ?? 0));
                return (
                  <tr key={p.provider} data-provider={p.provider}>
                    <th scope="row">{p.provider}</th>
                    <td className="num" data-field="calls">{p.calls}</td>
                    <td className="num" data-field="errors">{p.errors}</td>
                    <td className="num">{percent(p.errors / p.calls)}</td>
                    <td className="num">{Math.round(mean)} ms</td>
                    <td className="num">{slowest} ms</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </>
      )}
    </section>
  );
}

export function Overview() {
  const providers = usePoll(async () => must(await api.GET('/providers')), [], 5000);
  const overbookings = usePoll(async () => must(await api.GET('/overbookings')), [], 10_000);
  const runs = usePoll(async () => (must(await api.GET('/reconciliations', { params: { query: { limit: 1 } } })) as { runs: ReconciliationRun[] }).runs, [], 10_000);
  const queues = usePoll(
    () =>
      Promise.all(
        (['booking_com', 'airbnb', 'channex'] as const).map((channel) =>
          api
            .GET('/channels/{channel}/queue', { params: { path: { channel } } })
            .then(must)
            .catch(() => undefined),
        ),
      ),
    [],
    10_000,
  );
  const troubled = providers.data?.providers.filter((p) => p.circuitBreaker.state !== 'closed' || p.circuitBreaker.window.failureRate >= 0.2) ?? [];
  const weekAgo = new Date(startOfToday().getTime() - 6 * 24 * HOUR);
  const last = runs.data?.[0];

  return (
    <>
      <h1>Overview</h1>
      <div className="grid">
        <PaymentsWindow title="Today" from={startOfToday()} />
        <PaymentsWindow title="This week" from={weekAgo} />
        <section aria-labelledby="attention" className="card">
          <h2 id="attention">Needs attention</h2>
          <ErrorNote error={providers.error ?? overbookings.error ?? runs.error} />
          <ul className="plain">
            {troubled.map((p) => (
              <li key={p.provider}>
                <a href="#/providers">{p.provider}</a>: circuit <Badge value={p.circuitBreaker.state} />, error rate {percent(p.circuitBreaker.window.failureRate)}
              </li>
            ))}
            {providers.data && troubled.length === 0 && <li>Every provider's circuit is closed and its error rate low.</li>}
            <li>
              <a href="#/calendar">Open overbookings</a>: {overbookings.data?.overbookings.length ?? '…'}
            </li>
            <li>
              <a href="#/reconciliation">Last reconciliation</a>:{' '}
              {last
                ? `${last.provider} ${last.from}, ${last.status}, ${openOf(last)} open discrepancies of ${last.counts.discrepancies}`
                : 'none yet — start one on the Reconciliation page.'}
            </li>
            {(queues.data ?? []).map(
              (queue) =>
                queue && (
                  <li key={queue.channel}>
                    <a href="#/channels">{queue.channel}</a>: {queue.unacked.length} unacknowledged reservations
                    {queue.unacked.length > 0 ? `, the oldest waiting ${Math.round(queue.oldestUnackedAgeMs / 60_000)} min` : ''}
                  </li>
                ),
            )}
          </ul>
        </section>
        <PerHourChart />
        <ProviderCallsChart />
      </div>
    </>
  );
}
