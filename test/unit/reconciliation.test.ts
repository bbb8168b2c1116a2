// The pure parts of reconciliation: run ids and periods, each provider's listing normalized into one
// transaction shape, and the CSV report.
import { describe, expect, it } from 'vitest';
import type Stripe from 'stripe';
import { addDays } from '../../domain/dates';
import { isReconciliationId, reconciliationWorkflowId } from '../../domain/workflow-ids';
import { periodBounds } from '../../domain/reconciliation';
import { transactionFromBalanceTransaction } from '../../providers/stripe/transactions';
import { transactionFromDetail } from '../../providers/paypal/transactions';
import { transactionFromRow } from '../../providers/swish/settlement-report';
import { createMobilePayReportSource, transactionFromEntry } from '../../providers/mobilepay/report';
import { reportCsv } from '../../client/reconciliation-report';
import type { DiscrepancyRow } from '../../store/reconciliation-discrepancies';

describe('run ids and periods', () => {
  it('one deterministic id per provider and day (or period)', () => {
    expect(reconciliationWorkflowId('stripe', '2025-03-01')).toBe('reconciliation-stripe-2025-03-01');
    expect(reconciliationWorkflowId('paypal', '2025-03-01', '2025-03-07')).toBe('reconciliation-paypal-2025-03-01..2025-03-07');
    expect(() => reconciliationWorkflowId('stripe', '2025-3-1')).toThrow();
    expect(isReconciliationId('reconciliation-swish-2025-03-01')).toBe(true);
    expect(isReconciliationId('reconciliation-swish-2025-03-01..2025-03-02')).toBe(true);
    expect(isReconciliationId('payment-pay_x')).toBe(false);
  });

  it('a period is whole UTC days, the last one included', () => {
    expect(periodBounds('2024-02-28', '2024-02-29')).toEqual({ start: '2024-02-28T00:00:00.000Z', end: '2024-03-01T00:00:00.000Z' });
    expect(addDays('2024-12-31', 1)).toBe('2025-01-01');
    expect(addDays('2025-03-01', -1)).toBe('2025-02-28');
  });
});

describe('provider listings, normalized', () => {
  it('stripe: a charge balance transaction names its PaymentIntent and Skerry payment id (expanded source)', () => {
    const txn = {
      id: 'txn_1',
      amount: 12_500,
      currency: 'sek',
      created: 1_700_000_000,
      available_on: 1_700_172_800,
      status: 'pending',
      type: 'charge',
      fee: 368,
      net: 12_132,
      source: { id: 'ch_1', object: 'charge', payment_intent: 'pi_1', metadata: { skerry_payment_id: 'pay_abc123' } },
    } as unknown as Stripe.BalanceTransaction;
    expect(transactionFromBalanceTransaction(txn)).toMatchObject({
      transactionId: 'txn_1',
      type: 'payment',
      amount: 12_500,
      currency: 'SEK',
      status: 'succeeded',
      settlement: 'pending',
      expectedSettlementAt: '2023-11-16T22:13:20.000Z',
      paymentId: 'pay_abc123',
      providerReference: 'pi_1',
    });
    const refund = { ...txn, id: 'txn_2', type: 'refund', amount: -2_000, status: 'available', source: { id: 're_1', object: 'refund', payment_intent: 'pi_1', status: 'pending' } };
    expect(transactionFromBalanceTransaction(refund as unknown as Stripe.BalanceTransaction)).toMatchObject({ type: 'refund', amount: -2_000, status: 'pending', settlement: 'settled' });
  });

  it('paypal: transaction search lines by event code and status; custom_field is the payment id', () => {
    const line = (code: string, value: string, status: string) => ({
      transaction_info: {
        transaction_id: '5O190127TN364715T',
        paypal_reference_id: '1AB23456CD789012E',
        transaction_event_code: code,
        transaction_initiation_date: '2025-03-01T10:00:00Z',
        transaction_amount: { currency_code: 'EUR', value },
        transaction_status: status,
        custom_field: 'pay_abc123',
        invoice_id: 'res_1/pay_abc123',
      },
    });
    expect(transactionFromDetail(line('T0006', '125.50', 'S'))).toMatchObject({ type: 'payment', amount: 12_550, status: 'succeeded', settlement: 'settled', paymentId: 'pay_abc123' });
    expect(transactionFromDetail(line('T1107', '-20.00', 'P'))).toMatchObject({ type: 'refund', amount: -2_000, status: 'pending', settlement: 'pending', relatedTransactionId: '1AB23456CD789012E' });
    expect(transactionFromDetail(line('T0006', '1.00', 'V'))?.status).toBe('reversed');
    expect(transactionFromDetail({ transaction_info: {} })).toBeUndefined();
  });

  it('swish: a bank report line is a settled credit or debit, matched on the order id', () => {
    const row = {
      rowId: '1',
      bookingDate: '2025-03-01',
      transactionTime: '2025-03-01T09:00:00.000Z',
      type: 'DEBIT' as const,
      amount: '250.00',
      currency: 'SEK',
      paymentReference: 'ABC',
      orderId: 'res1',
      originalPaymentReference: 'DEF',
    };
    expect(transactionFromRow(row)).toMatchObject({ transactionId: 'ABC', type: 'refund', amount: -25_000, settlement: 'settled', merchantReference: 'res1', relatedTransactionId: 'DEF' });
  });

  it('mobilepay: walks each ledger day by day, following the API cursor, within the period', async () => {
    const entry = (psp: string, time: string, amount = 100) => ({ pspReference: psp, time, ledgerDate: time.slice(0, 10), entryType: 'capture', reference: `pay-${psp}`, currency: 'NOK', amount });
    const calls: string[] = [];
    const source = createMobilePayReportSource(
      {
        listLedgers: async () => ({ items: [{ ledgerId: 'L1', currency: 'NOK', settlesForRecipientHandles: ['api:123456'] }, { ledgerId: 'L2', currency: 'EUR', settlesForRecipientHandles: ['api:999'] }] }),
        fundsByDate: async (ledgerId, day, cursor) => {
          calls.push(`${ledgerId}/${day}/${cursor ?? ''}`);
          if (day === '2025-03-01' && !cursor) return { items: [entry('a', '2025-03-01T23:30:00Z')], cursor: 'next' };
          if (day === '2025-03-01') return { items: [entry('b', '2025-03-01T23:50:00Z')] };
          return { items: [entry('c', '2025-03-02T00:30:00Z'), entry('d', '2025-03-02T05:00:00Z')] };
        },
      },
      '123456',
    );
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await source({ from: '2025-03-01T23:40:00.000Z', to: '2025-03-02T01:00:00.000Z', cursor });
      seen.push(...page.transactions.map((txn) => txn.transactionId));
      cursor = page.nextCursor;
    } while (cursor);
    expect(calls).toEqual(['L1/2025-03-01/', 'L1/2025-03-01/next', 'L1/2025-03-02/']);
    expect(seen).toEqual(['b', 'c']);
    expect(transactionFromEntry({ ...entry('e', '2025-03-02T00:00:00Z', -50), entryType: 'refund' })).toMatchObject({ type: 'refund', amount: -50, providerReference: 'pay-e' });
  });
});

describe('the CSV report', () => {
  it('quotes what needs quoting and never lets a spreadsheet run a formula', () => {
    const row = {
      id: 7,
      runId: 'reconciliation-stripe-2025-03-01',
      kind: 'amount_mismatch',
      paymentId: 'pay_1',
      transactionId: null,
      reservationId: null,
      providerReference: '=HYPERLINK("x")',
      ledgerStatus: 'succeeded',
      providerStatus: 'succeeded',
      ledgerAmount: 12_000,
      providerAmount: -11_000,
      currency: 'SEK',
      evidence: { explanation: 'the provider captured 11000, "not" 12000' },
      healable: false,
      healed: false,
      healResult: null,
      healAttemptedAt: null,
      healedAt: null,
      resolution: null,
      resolvedBy: null,
      resolvedAt: null,
      resolutionNote: null,
      createdAt: new Date(),
    } as DiscrepancyRow;
    const ignored = { ...row, id: 8, resolution: 'ignored', resolvedBy: 'ops desk (key_1)', resolvedAt: new Date('2025-03-02T08:00:00Z'), resolutionNote: 'fee, agreed with Stripe' } as DiscrepancyRow;
    const [header, line, ignoredLine] = reportCsv([row, ignored]).split('\r\n');
    expect(header).toBe(
      'id,kind,resolution,payment_id,transaction_id,reservation_id,provider_reference,ledger_status,provider_status,ledger_amount,provider_amount,currency,heal_result,explanation,resolved_by,resolved_at,resolution_note',
    );
    expect(line).toBe(`7,amount_mismatch,for_a_person,pay_1,,,"'=HYPERLINK(""x"")",succeeded,succeeded,12000,-11000,SEK,,"the provider captured 11000, ""not"" 12000",,,`);
    // A person's ignore is in the download: the resolution, who, when and why.
    expect(ignoredLine).toBe(
      `8,amount_mismatch,ignored,pay_1,,,"'=HYPERLINK(""x"")",succeeded,succeeded,12000,-11000,SEK,,"the provider captured 11000, ""not"" 12000",ops desk (key_1),2025-03-02T08:00:00.000Z,"fee, agreed with Stripe"`,
    );
  });
});
