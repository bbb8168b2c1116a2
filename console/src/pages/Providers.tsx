import { api, must } from '../api';
import { dateTime, percent } from '../format';
import { usePoll } from '../hooks';
import { Badge, Empty, ErrorNote } from '../ui';

export function Providers() {
  const { data, error } = usePoll(async () => must(await api.GET('/providers')), [], 3000);
  return (
    <>
      <h1>Providers</h1>
      <ErrorNote error={error} />
      {data && data.providers.length === 0 && <Empty>No provider is configured. Set a provider's keys in .env, or run npm start for the sandboxes.</Empty>}
      {data && !data.breakerEnabled && <p>Circuit breakers are off in this deployment.</p>}
      {data?.providers.map((p) => (
        <section key={p.provider} aria-labelledby={`p-${p.provider}`} className="card">
          <h2 id={`p-${p.provider}`}>{p.provider}</h2>
          <dl className="facts">
            <dt>Circuit</dt>
            <dd>
              <Badge value={p.circuitBreaker.state} /> {p.circuitBreaker.openUntil ? `until ${dateTime(p.circuitBreaker.openUntil)}` : ''}
            </dd>
            <dt>Error rate</dt>
            <dd>
              {percent(p.circuitBreaker.window.failureRate)} of {p.circuitBreaker.window.calls} calls
            </dd>
            <dt>Last failure</dt>
            <dd>{p.circuitBreaker.lastFailure ?? 'none'}</dd>
            <dt>Quota</dt>
            <dd>
              {p.quota.calls} calls in {p.quota.windowSeconds} s{p.quota.limit !== null ? ` of ${p.quota.limit}` : ''}
              {p.quota.usageRatio !== null ? ` (${percent(p.quota.usageRatio)})` : ''}
            </dd>
            <dt>OAuth tokens</dt>
            <dd>
              {p.oauth.length === 0
                ? 'none'
                : p.oauth.map((token) => (
                    <span key={token.key}>
                      {token.key}: expires {dateTime(token.expiresAt)}, refreshed {token.refreshCount}×{token.lastError ? `, last error: ${token.lastError}` : ''}
                    </span>
                  ))}
            </dd>
          </dl>
          {p.circuitBreaker.recentTransitions.length > 0 && (
            <table>
              <caption>Breaker history</caption>
              <thead>
                <tr>
                  <th scope="col">When</th>
                  <th scope="col">From</th>
                  <th scope="col">To</th>
                  <th scope="col">Why</th>
                </tr>
              </thead>
              <tbody>
                {p.circuitBreaker.recentTransitions.map((t) => (
                  <tr key={`${t.at}-${t.to}`}>
                    <td>{dateTime(t.at)}</td>
                    <td>{t.from}</td>
                    <td>{t.to}</td>
                    <td>{t.reason ?? ''}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </section>
      ))}
    </>
  );
}
