// A refund webhook is applied only to the payment that owns what was refunded. PayPal's refund events
// carry the payment id only as the `custom_id` they inherit from the order, and the refund links its
// capture, not the order: the verifier asks PayPal for the capture's order (the provider reference),
// and here the ledger must say that order is the payment the custom_id names. Anything else (an
// inherited custom_id from another system's order, a copy of ours on an order we never made) is
// refused: recorded, not applied, with the reason.
import type { WebhookInbox } from '../../store/webhook-inbox';

/** Why a refund event must not reach `paymentId`'s workflow; undefined when it may (or the payment is not in the ledger yet). */
export async function refundOwnershipRefusal(
  inbox: Pick<WebhookInbox, 'findPaymentIdByProviderReference' | 'paymentExists'>,
  event: { provider: string; paymentId: string; providerReference: string | null },
): Promise<string | undefined> {
  const { provider, paymentId, providerReference } = event;
  if (!providerReference) return `refund names payment ${paymentId}, but ${provider} did not say which payment it refunds: not applied`;
  const owner = await inbox.findPaymentIdByProviderReference(provider, providerReference);
  if (owner === paymentId) return undefined;
  if (owner) return `refund names payment ${paymentId}, but ${provider} ${providerReference} is payment ${owner}'s: not applied`;
  if (await inbox.paymentExists(paymentId)) return `refund names payment ${paymentId}, but ${provider} ${providerReference} is not that payment's: not applied`;
  return undefined;
}
