// The README's two walkthroughs on the cluster topology: calls spread over both API processes,
// webhooks through the one public address to whichever public door is next, and the workflows found
// by their search attributes on the server's SQL visibility.
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { eventually } from '../support/harness';
import { sandboxHandles } from '../../sandbox/server';
import { channelReservationId } from '../../domain/bookings';
import { startClusterStack, type ClusterStack } from './cluster-stack';

let cluster: ClusterStack;
beforeAll(async () => {
  cluster = await startClusterStack({ env: { BOOKING_COM_POLL_INTERVAL_MS: '300', CHANNEL_SYNC_QUIET_MS: '150', CHANNEL_SYNC_MAX_DELAY_MS: '1000' } });
});
afterAll(async () => cluster?.close());

async function ok(method: string, path: string, body?: unknown, status = 200, via?: number) {
  const response = await cluster.http(method, path, body, {}, via);
  expect(response.status, `${method} ${path} via api-${response.via + 1}: ${JSON.stringify(response.body)}`).toBe(status);
  return response.body;
}

/** Workflow ids the server's SQL visibility lists for a query, once it lists every expected one (and at least one). */
async function listed(query: string, expected: string[]) {
  return eventually(async () => {
    const ids: string[] = [];
    for await (const execution of cluster.temporal.workflow.list({ query })) ids.push(execution.workflowId);
    return ids.length > 0 && expected.every((id) => ids.includes(id)) ? ids : undefined;
  }, { timeoutMs: 30_000, everyMs: 300, what: `visibility to list ${expected.join(', ')} for ${query}` });
}

const webhooksReceived = async (api: number) => {
  const text = await (await fetch(`http://127.0.0.1:${cluster.apis[api]!.admin}/metrics`, { headers: { authorization: `Bearer ${cluster.apiKey}` } })).text();
  return text
    .split('\n')
    .filter((line) => line.startsWith('skerry_webhooks_received_total{'))
    .reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(' ') + 1)), 0);
};

describe('the README walkthroughs on the cluster', () => {
  it('a payment with each provider: created on one API, paid, read on the other, refunded, found by its search attributes', async () => {
    const currencies = { stripe: 'SEK', paypal: 'EUR', mobilepay: 'DKK', swish: 'SEK' } as const;
    const reference = `booking-${Date.now()}`;
    const created: Array<{ paymentId: string; workflowId: string; provider: string }> = [];
    for (const [index, [provider, currency]] of Object.entries(currencies).entries()) {
      const payment = await ok('POST', '/payments', { provider, amount: { value: 125_000, currency }, reference, captureMethod: 'automatic', description: 'Cabin 3, 2 nights' }, 201, index % 2);
      expect(payment.reference).toBe(reference);
      expect(['created', 'requires_action'], provider).toContain(payment.status);
      const providerReference = await eventually(async () => (await cluster.http('GET', `/payments/${payment.paymentId}`)).body?.providerReference ?? undefined, { what: `${provider} object` });
      const paid = await cluster.control(`/${provider}/_control/payments/${encodeURIComponent(providerReference)}/succeed`);
      expect(paid.status, JSON.stringify(paid.body)).toBe(200);
      created.push({ paymentId: payment.paymentId, workflowId: payment.workflowId, provider });
    }
    for (const [index, { paymentId }] of created.entries()) {
      // Read on the API process that did not create it.
      await eventually(async () => (await cluster.http('GET', `/payments/${paymentId}`, undefined, {}, (index + 1) % 2)).body?.status === 'succeeded', { timeoutMs: 60_000, what: `${paymentId} succeeded` });
    }
    // Each payment's page in the cluster's Web UI (Temporal's UI server, not the dev server's): the
    // page itself, and the UI's API behind it describing that workflow from the cluster's server.
    const ui = inject('temporalUiUrl');
    for (const { workflowId } of created) {
      const page = await fetch(`${ui}/namespaces/default/workflows/${encodeURIComponent(workflowId)}`);
      expect(page.status).toBe(200);
      expect(await page.text()).toContain('<html');
      const described = await fetch(`${ui}/api/v1/namespaces/default/workflows/${encodeURIComponent(workflowId)}`);
      expect(described.status, await described.clone().text()).toBe(200);
      const body = (await described.json()) as { workflowExecutionInfo?: { execution?: { workflowId?: string }; type?: { name?: string } } };
      expect(body.workflowExecutionInfo?.execution?.workflowId).toBe(workflowId);
      expect(body.workflowExecutionInfo?.type?.name).toBe('paymentWorkflow');
    }
    const stripe = created[0]!;
    const refunded = await ok('POST', `/payments/${stripe.paymentId}/refunds`, { amount: 25_000 }, 200, 1);
    expect(refunded).toMatchObject({ status: 'partially_refunded', amountRefunded: 25_000 });

    const ids = created.map((payment) => payment.workflowId);
    await listed(`PaymentReference="${reference}"`, ids);
    await listed(`PaymentReference="${reference}" AND PaymentProvider="stripe"`, [stripe.workflowId]);
    const succeeded = await listed(`PaymentReference="${reference}" AND PaymentStatus="succeeded"`, ids.slice(1));
    expect(succeeded).not.toContain(stripe.workflowId);
    await listed(`PaymentReference="${reference}" AND PaymentStatus="partially_refunded"`, [stripe.workflowId]);

    // Providers reached both public doors through the one public address.
    expect(await webhooksReceived(0)).toBeGreaterThan(0);
    expect(await webhooksReceived(1)).toBeGreaterThan(0);
  });

  it('a reservation: Airbnb connected over OAuth, the calendar pushed, a Booking.com guest held and pushed to Airbnb, found by ListingId', async () => {
    const handles = sandboxHandles(cluster.sandboxes.app);
    const suffix = `${Date.now()}`;
    const property = await ok('POST', '/properties', { name: `Skerry Camp ${suffix}`, currency: 'SEK' }, 201, 0);
    const unit = await ok('POST', `/properties/${property.id}/units`, { name: 'Sea cabin', count: 1 }, 201, 1);
    const hostId = `host${suffix}`;
    const listingId = `listing${suffix}`;
    const hotelId = String(3_000_000 + (Number(suffix) % 1_000_000));

    // The connect starts on one API's admin door; the browser comes back through the public address.
    const start = await fetch(`http://127.0.0.1:${cluster.apis[0]!.admin}/channels/airbnb/connect?hostHint=${hostId}`, { redirect: 'manual', headers: { authorization: `Bearer ${cluster.apiKey}` } });
    expect(start.status).toBe(302);
    const consent = await fetch(start.headers.get('location')!, { redirect: 'manual' });
    const callback = new URL(consent.headers.get('location')!);
    expect(callback.origin).toBe(new URL(cluster.publicUrl).origin);
    const connected = await fetch(callback);
    expect(connected.status).toBe(200);
    expect(await connected.json()).toMatchObject({ hostId, connected: true });

    await ok('POST', `/units/${unit.id}/mappings`, { channel: 'booking_com', externalAccountId: hotelId, externalListingId: `${hotelId}01`, externalRateId: `${hotelId}9` }, 201, 0);
    await ok('POST', `/units/${unit.id}/mappings`, { channel: 'airbnb', externalAccountId: hostId, externalListingId: listingId }, 201, 1);
    await ok('PUT', `/units/${unit.id}/calendar`, { ranges: [{ from: '2027-07-01', to: '2027-07-31', available: 1, price: { value: 120_000, currency: 'SEK' }, minNights: 1 }] }, 200, 0);
    await eventually(async () => {
      const calendar = await ok('GET', `/units/${unit.id}/calendar?from=2027-07-01&to=2027-07-03`);
      return calendar.days.every((day: { channels: Record<string, { inSync: boolean }> }) => day.channels.booking_com?.inSync && day.channels.airbnb?.inSync);
    }, { timeoutMs: 60_000, what: 'both channels told the calendar' });

    const guest = await cluster.control('/booking-com/_control/reservations', { hotelId, roomId: `${hotelId}01`, rateId: `${hotelId}9`, checkIn: '2027-07-10', checkOut: '2027-07-12', guestName: 'Astrid' });
    expect(guest.status).toBe(201);
    const bookingId = channelReservationId('booking_com', (guest.body as { resId: string }).resId);
    const booking = await eventually(async () => {
      const answer = await cluster.http('GET', `/bookings/${bookingId}`);
      return answer.body?.status === 'confirmed' ? answer.body : undefined;
    }, { timeoutMs: 60_000, what: `${bookingId} confirmed` });
    expect(booking).toMatchObject({ channel: 'booking_com', checkIn: '2027-07-10' });
    await eventually(() => handles.airbnb.calendar(listingId, '2027-07-10', '2027-07-11').every((day) => day.availability === 'unavailable'), { timeoutMs: 60_000, what: 'the nights closed on Airbnb' });

    await listed(`ListingId="${unit.id}"`, []);
  });
});
