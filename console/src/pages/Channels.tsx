import { api, must } from '../api';
import { dateTime } from '../format';
import { usePoll } from '../hooks';
import { useRef, useState } from 'react';
import type { IcalExport, IssuedIcalExport, Unit } from '../shapes';
import { Badge, ConfirmAction, Empty, ErrorNote, useCan } from '../ui';

const CHANNELS = [
  ['booking_com', 'Booking.com'],
  ['airbnb', 'Airbnb'],
  ['channex', 'Channex'],
  ['ical', 'iCal'],
] as const;

function ChannelCard({ channel, name }: { channel: (typeof CHANNELS)[number][0]; name: string }) {
  const can = useCan();
  const queue = usePoll(async () => must(await api.GET('/channels/{channel}/queue', { params: { path: { channel } } })), [channel], 5000);
  const resyncs = usePoll(async () => must(await api.GET('/channels/{channel}/resyncs', { params: { path: { channel } } })), [channel], 2000);
  const latest = resyncs.data?.runs[0];
  return (
    <section aria-labelledby={`c-${channel}`} className="card">
      <h2 id={`c-${channel}`}>{name}</h2>
      <ErrorNote error={queue.error ?? resyncs.error} />
      <dl className="facts">
        <dt>Last import</dt>
        <dd>{queue.data?.poll ? dateTime(queue.data.poll.lastPollAt) : 'not polled here'}</dd>
        <dt>Unacknowledged reservations</dt>
        <dd data-testid={`unacked-${channel}`}>{queue.data ? queue.data.unacked.length : '…'}</dd>
        <dt>Last resync</dt>
        <dd>
          {latest ? (
            <>
              <Badge value={latest.status} /> {dateTime(latest.startedAt)}: {latest.calendarDaysChecked} nights checked, {latest.calendarDaysCorrected} corrected,{' '}
              {latest.reservationsChecked} reservations checked
              {latest.status === 'running' && <progress aria-label={`${name} resync in progress`} />}
            </>
          ) : (
            'none yet'
          )}
        </dd>
      </dl>
      {queue.data && queue.data.unacked.length > 0 && (
        <table>
          <caption>Unacknowledged reservation messages</caption>
          <thead>
            <tr>
              <th scope="col">Message</th>
              <th scope="col">Kind</th>
              <th scope="col" className="num">Waiting (s)</th>
            </tr>
          </thead>
          <tbody>
            {queue.data.unacked.map((message) => (
              <tr key={message.messageId}>
                <td>{message.messageId}</td>
                <td>{message.kind}</td>
                <td className="num">{Math.round(message.ageMs / 1000)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {can('channels:admin') && (
        <ConfirmAction
          label={`Resync ${name}`}
          question={`Compare every mapped night and reservation with ${name} now, and correct what differs?`}
          done="Resync started; its progress shows above."
          run={async () => {
            must(await api.POST('/channels/{channel}/resync', { params: { path: { channel } }, body: {} }));
            await resyncs.reload();
          }}
        />
      )}
    </section>
  );
}

/** A feed URL just issued: shown this once, with a button that copies it. */
function IssuedLink({ issued }: { issued: IssuedIcalExport }) {
  const field = useRef<HTMLInputElement>(null);
  const [copied, setCopied] = useState<string>();
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(issued.url);
      setCopied('Copied.');
    } catch {
      // No clipboard (an insecure origin, a refused permission): select it for Ctrl-C instead.
      field.current?.select();
      setCopied('Selected: press Ctrl-C (⌘-C) to copy.');
    }
  };
  return (
    <div className="issued" data-testid={`ical-url-${issued.channel}`}>
      <label>
        {issued.channel} feed URL (shown only now: paste it into {issued.channel}&apos;s calendar import)
        <input ref={field} readOnly value={issued.url} size={60} onFocus={(event) => event.target.select()} />
      </label>
      <button type="button" onClick={() => void copy()}>
        Copy link
      </button>
      {copied && <span role="status">{copied}</span>}
    </div>
  );
}

/** One export feed: its state, and for a live one a new link, which revokes this one. */
function ExportFeed({ unit, feed, onIssued }: { unit: Unit; feed: IcalExport; onIssued: (issued: IssuedIcalExport) => Promise<void> }) {
  const can = useCan();
  return (
    <div className="feed">
      {feed.channel} export: {feed.revokedAt ? `revoked ${dateTime(feed.revokedAt)}` : `live, last fetched ${feed.lastFetchedAt ? dateTime(feed.lastFetchedAt) : 'never'}`}
      {!feed.revokedAt && can('channels:admin') && (
        <ConfirmAction
          label={`New ${feed.channel} link`}
          question={`Issue a new feed URL for ${feed.channel}? The current one stops working at once: paste the new one into ${feed.channel}'s calendar import straight away.`}
          done="New link issued; the old one is revoked."
          run={async () => onIssued(must(await api.POST('/units/{id}/ical/exports/{feedId}/reissue', { params: { path: { id: unit.id, feedId: feed.id } }, body: {} })))}
        />
      )}
    </div>
  );
}

/** Each unit's connections: its channel mappings, the iCal feeds it exports and the ones it imports. */
function UnitConnections({ unit }: { unit: Unit }) {
  const can = useCan();
  const [issued, setIssued] = useState<IssuedIcalExport>();
  const [ota, setOta] = useState('');
  const [createError, setCreateError] = useState<string>();
  const data = usePoll(
    async () => {
      const path = { params: { path: { id: unit.id } } };
      const [mappings, exports, imports] = await Promise.all([
        api.GET('/units/{id}/mappings', path).then(must),
        api.GET('/units/{id}/ical/exports', path).then(must),
        api.GET('/units/{id}/ical/imports', path).then(must),
      ]);
      return { mappings: mappings.mappings, exports: exports.exports, imports: imports.imports };
    },
    [unit.id],
    15_000,
  );
  const onIssued = async (feed: IssuedIcalExport) => {
    setIssued(feed);
    await data.reload();
  };
  const d = data.data;
  return (
    <tr data-unit={unit.id}>
      <th scope="row">{unit.name}</th>
      <td>
        {d?.mappings.length === 0 && 'none: map the unit with POST /units/:id/mappings'}
        {d?.mappings.map((m) => (
          <div key={m.id}>
            {m.channel}: {m.externalAccountId} / {m.externalListingId}
            {m.externalRateId ? ` / ${m.externalRateId}` : ''}
          </div>
        ))}
      </td>
      <td>
        <ErrorNote error={data.error} />
        {issued && <IssuedLink issued={issued} />}
        {d?.exports.map((feed) => <ExportFeed key={feed.id} unit={unit} feed={feed} onIssued={onIssued} />)}
        {d?.imports.map((feed) => (
          <div key={feed.id}>
            {feed.channel} import from {feed.origin}: <Badge value={feed.state} /> {feed.lastError ?? ''}
          </div>
        ))}
        {d && d.exports.length + d.imports.length === 0 && <Empty>No iCal feeds. Make an export link for an OTA that imports calendars by URL.</Empty>}
        {can('channels:admin') && (
          <form
            className="inline"
            onSubmit={(event) => {
              event.preventDefault();
              void (async () => {
                try {
                  const made = must(await api.POST('/units/{id}/ical/exports', { params: { path: { id: unit.id } }, body: { channel: ota.trim().toLowerCase() } }));
                  setCreateError(undefined);
                  setOta('');
                  await onIssued(made);
                } catch (err) {
                  setCreateError((err as Error).message);
                }
              })();
            }}
          >
            <label>
              OTA for a new export link
              <input value={ota} onChange={(event) => setOta(event.target.value)} placeholder="vrbo" pattern="[a-z][a-z0-9_]{1,30}" required />
            </label>
            <button type="submit">Create export link</button>
            <ErrorNote error={createError} />
          </form>
        )}
      </td>
    </tr>
  );
}

function Connections() {
  const properties = usePoll(async () => must(await api.GET('/properties')), [], 0);
  const [propertyId, setPropertyId] = useState<string>();
  const chosen = propertyId ?? properties.data?.properties[0]?.id;
  const units = usePoll(async () => (chosen ? must(await api.GET('/properties/{id}/units', { params: { path: { id: chosen } } })).units : undefined), [chosen], 0);
  if (properties.data?.properties.length === 0) return <Empty>No properties yet: create one with POST /properties, then map its units to channels.</Empty>;
  return (
    <>
      <label>
        Property
        <select value={chosen ?? ''} onChange={(event) => setPropertyId(event.target.value)}>
          {properties.data?.properties.map((p) => (
            <option key={p.id} value={p.id}>
              {p.name}
            </option>
          ))}
        </select>
      </label>
      <ErrorNote error={properties.error ?? units.error} />
      {units.data && (
        <table>
          <caption>Each unit's channel mappings and iCal feeds</caption>
          <thead>
            <tr>
              <th scope="col">Unit</th>
              <th scope="col">Mappings (account / listing / rate)</th>
              <th scope="col">iCal feeds</th>
            </tr>
          </thead>
          <tbody>
            {units.data.map((unit) => (
              <UnitConnections key={unit.id} unit={unit} />
            ))}
          </tbody>
        </table>
      )}
    </>
  );
}

/**
 * Connecting an Airbnb host: the API gives the consent URL (a navigation cannot carry the API key), the
 * host consents in a tab of its own, and Airbnb sends that tab to the public door's callback. This page
 * stays, and lists the host once the callback has stored its tokens.
 */
function AirbnbHosts() {
  const can = useCan();
  const [waiting, setWaiting] = useState(false);
  const [error, setError] = useState<string>();
  const accounts = usePoll(async () => must(await api.GET('/channels/airbnb/accounts')), [], waiting ? 2000 : 10_000);
  const connect = async () => {
    // Opened now, while the click still counts as the user's, so no popup blocker stands in the way.
    const tab = window.open('', '_blank');
    try {
      const { authorizeUrl } = must(await api.GET('/channels/airbnb/connect', { params: { query: { respond: 'json' } } }));
      if (!tab) throw new Error('The browser blocked the new tab. Allow pop-ups for the console, then connect again.');
      tab.opener = null;
      tab.location.href = authorizeUrl;
      setError(undefined);
      setWaiting(true);
    } catch (err) {
      tab?.close();
      setError((err as Error).message);
    }
  };
  return (
    <section aria-labelledby="connections" className="card wide">
      <h2 id="connections">Airbnb hosts</h2>
      {accounts.error && <p>Airbnb is not enabled in this deployment.</p>}
      {accounts.data && accounts.data.accounts.length === 0 && <Empty>No Airbnb host connected yet.{can('channels:admin') ? ' Connect one below.' : ' A key with channels:admin can connect one.'}</Empty>}
      {accounts.data && accounts.data.accounts.length > 0 && (
        <ul className="plain">
          {accounts.data.accounts.map((account) => (
            <li key={account.id} data-testid={`airbnb-host-${account.externalAccountId}`}>
              {account.externalAccountId} <Badge value={account.status} /> token expires {dateTime(account.accessTokenExpiresAt)}
            </li>
          ))}
        </ul>
      )}
      {can('channels:admin') && !accounts.error && (
        <div className="action">
          <button type="button" onClick={() => void connect()}>
            Connect Airbnb
          </button>
          {waiting && <p role="status">Airbnb&apos;s consent page opened in a new tab. Once the host allows Skerry, the host is listed here.</p>}
          <ErrorNote error={error} />
        </div>
      )}
    </section>
  );
}

export function Channels() {
  return (
    <>
      <h1>Channels</h1>
      <AirbnbHosts />
      <section aria-labelledby="mappings" className="card wide">
        <h2 id="mappings">Mappings and feeds</h2>
        <Connections />
      </section>
      <div className="grid">
        {CHANNELS.map(([channel, name]) => (
          <ChannelCard key={channel} channel={channel} name={name} />
        ))}
      </div>
    </>
  );
}
