// Stripe-Signature verification over the raw body, with every configured secret (rotation).
import Stripe from 'stripe';
import { WebhookVerificationError, type IncomingWebhook, type WebhookVerifier } from '../types';
import { type VerifiedWebhookEvent } from '../../domain/webhooks';
import type { PaymentObservation } from '../../domain/payments';
import { refundObservation, snapshotFromIntent } from './client';

const verifierSdk = new Stripe('sk_test_verification_only', { telemetry: false });

export interface StripeWebhookOptions {
  /** Every secret accepted at `now`: during a rotation, the old and the new one (until the overlap ends). */
  secrets: (now: Date) => readonly string[];
  toleranceSeconds: number;
}

function header(webhook: IncomingWebhook, name: string): string | undefined {
  const value = webhook.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

export function verifyStripeSignature(webhook: IncomingWebhook, options: StripeWebhookOptions): Stripe.Event {
  const signature = header(webhook, 'stripe-signature');
  if (!signature) throw new WebhookVerificationError('missing Stripe-Signature header', 'missing_signature');
  const timestamp = /(?:^|,)t=(\d+)/.exec(signature)?.[1];
  if (!timestamp) throw new WebhookVerificationError('Stripe-Signature has no timestamp', 'malformed');
  const nowSeconds = Math.floor((webhook.now ?? new Date()).getTime() / 1000);
  if (Math.abs(nowSeconds - Number(timestamp)) > options.toleranceSeconds) {
    throw new WebhookVerificationError(`signature timestamp outside the ${options.toleranceSeconds}s tolerance`, 'stale');
  }
  for (const secret of options.secrets(webhook.now ?? new Date())) {
    try {
      return verifierSdk.webhooks.constructEvent(webhook.rawBody, signature, secret, options.toleranceSeconds, undefined, nowSeconds);
    } catch (err) {
      if (!(err instanceof Stripe.errors.StripeSignatureVerificationError)) {
        throw new WebhookVerificationError(`malformed event: ${(err as Error).message}`, 'malformed');
      }
    }
  }
  throw new WebhookVerificationError('no configured secret matches the Stripe-Signature', 'bad_signature');
}

function normalize(event: Stripe.Event): Pick<VerifiedWebhookEvent, 'delivery' | 'observation' | 'paymentId' | 'providerReference' | 'adopt'> {
  const occurredAt = new Date(event.created * 1000).toISOString();
  const base = { eventId: event.id, source: 'webhook' as const, providerEventType: event.type, occurredAt };
  const object = event.data.object as unknown as Record<string, unknown>;

  if (event.type.startsWith('payment_intent.') && object.object === 'payment_intent') {
    const intent = object as unknown as Stripe.PaymentIntent;
    const snapshot = snapshotFromIntent(intent);
    const observation: PaymentObservation = {
      ...base,
      providerReference: intent.id,
      status: snapshot.status,
      amountAuthorized: snapshot.amountAuthorized,
      amountCaptured: snapshot.amountCaptured,
      nextAction: snapshot.nextAction,
      failureReason: snapshot.failureReason,
    };
    return {
      delivery: 'observation',
      observation,
      paymentId: intent.metadata?.skerry_payment_id,
      providerReference: intent.id,
      adopt: {
        amount: { value: intent.amount, currency: intent.currency.toUpperCase() },
        reference: intent.metadata?.skerry_reference ?? intent.id,
        captureMethod: intent.capture_method === 'manual' ? 'manual' : 'automatic',
      },
    };
  }
  if ((event.type === 'charge.refunded' || event.type === 'charge.succeeded' || event.type === 'charge.captured') && object.object === 'charge') {
    const charge = object as unknown as Stripe.Charge;
    const providerReference = typeof charge.payment_intent === 'string' ? charge.payment_intent : charge.payment_intent?.id;
    if (!providerReference) return { delivery: 'none' };
    return {
      delivery: 'observation',
      paymentId: charge.metadata?.skerry_payment_id,
      providerReference,
      observation: {
        ...base,
        providerReference,
        status: charge.captured ? 'succeeded' : undefined,
        // What the PaymentIntent reports beside it (amount_received once captured), so that of
        // charge.succeeded and payment_intent.succeeded the second says nothing new and is not signalled.
        amountAuthorized: charge.captured ? charge.amount_captured : undefined,
        amountCaptured: charge.amount_captured,
        amountRefunded: charge.amount_refunded,
      },
    };
  }
  if ((event.type === 'refund.created' || event.type === 'refund.updated') && object.object === 'refund') {
    const refund = object as unknown as Stripe.Refund;
    const providerReference = typeof refund.payment_intent === 'string' ? refund.payment_intent : refund.payment_intent?.id;
    if (!providerReference) return { delivery: 'none' };
    return {
      delivery: 'observation',
      providerReference,
      observation: { ...base, providerReference, refund: refundObservation(refund) },
    };
  }
  return { delivery: 'none' };
}

export function createStripeWebhookVerifier(options: StripeWebhookOptions): WebhookVerifier {
  return {
    provider: 'stripe',
    async verify(webhook) {
      const event = verifyStripeSignature(webhook, options);
      return [{ provider: 'stripe', eventId: event.id, eventType: event.type, payload: event, ...normalize(event) }];
    },
  };
}
