// A refund webhook reaches only the payment that owns what was refunded (api/webhooks/refund-ownership.ts).
import { describe, expect, it } from 'vitest';
import { refundOwnershipRefusal } from '../../api/webhooks/refund-ownership';

/** The ledger: provider reference → payment id. */
const ledger = (entries: Record<string, string>) => ({
  findPaymentIdByProviderReference: async (_provider: string, reference: string) => entries[reference],
  paymentExists: async (paymentId: string) => Object.values(entries).includes(paymentId),
});

describe('refund ownership', () => {
  const inbox = ledger({ ORDER1: 'pay_one', ORDER2: 'pay_two' });

  it('lets a refund through to the payment that owns the refunded order', async () => {
    expect(await refundOwnershipRefusal(inbox, { provider: 'paypal', paymentId: 'pay_one', providerReference: 'ORDER1' })).toBeUndefined();
  });

  it("refuses a refund whose custom_id names another payment than the order's owner, saying whose it is", async () => {
    expect(await refundOwnershipRefusal(inbox, { provider: 'paypal', paymentId: 'pay_one', providerReference: 'ORDER2' })).toBe(
      "refund names payment pay_one, but paypal ORDER2 is payment pay_two's: not applied",
    );
  });

  it('refuses a refund of an order no Skerry payment owns, or of nothing the provider could name', async () => {
    expect(await refundOwnershipRefusal(inbox, { provider: 'paypal', paymentId: 'pay_one', providerReference: 'ORDER9' })).toBe(
      'refund names payment pay_one, but paypal ORDER9 is not that payment\'s: not applied',
    );
    expect(await refundOwnershipRefusal(inbox, { provider: 'paypal', paymentId: 'pay_one', providerReference: null })).toMatch(/did not say which payment it refunds/);
  });

  it('leaves a payment not yet in the ledger to the usual wait (retried, then parked unmatched)', async () => {
    expect(await refundOwnershipRefusal(inbox, { provider: 'paypal', paymentId: 'pay_new', providerReference: 'ORDER9' })).toBeUndefined();
  });
});
