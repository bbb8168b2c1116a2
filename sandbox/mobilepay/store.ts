// The ePayment sandbox's payments and their state machine, in memory, free of HTTP. Every change
// records a payment event (the event log, and what webhooks carry). References are unique per
// merchant serial number (MSN), as at Vipps MobilePay.
//
//   CREATED ──succeed──▶ AUTHORIZED (captures, cancels, refunds move the aggregate, not the state)
//      ├──fail────▶ ABORTED      ├──abandon──▶ EXPIRED      └──cancel──▶ TERMINATED
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { randomToken } from '../shared/ids';
import { mapEntries, refill } from '../shared/persistence';
import { SandboxRefusal } from '../shared/errors';
import { zodIssues } from '../shared/control';
import { notFoundProblem, referenceConflictProblem, stateProblem, validationProblem } from './errors';

export const CURRENCIES = ['NOK', 'DKK', 'EUR'] as const;
export type Currency = (typeof CURRENCIES)[number];
export type EPaymentState = 'CREATED' | 'AUTHORIZED' | 'ABORTED' | 'EXPIRED' | 'TERMINATED';
export type EPaymentEventName = 'CREATED' | 'AUTHORIZED' | 'CAPTURED' | 'CANCELLED' | 'REFUNDED' | 'ABORTED' | 'EXPIRED' | 'TERMINATED';

export interface Amount {
  currency: Currency;
  value: number;
}

export interface Aggregate {
  authorizedAmount: Amount;
  cancelledAmount: Amount;
  capturedAmount: Amount;
  refundedAmount: Amount;
}

/** One entry of `GET …/events` and the body of a webhook. */
export interface EPaymentEvent {
  msn: string;
  reference: string;
  pspReference: string;
  name: EPaymentEventName;
  amount: Amount;
  timestamp: string;
  idempotencyKey: string | null;
  success: boolean;
}

export interface SandboxPayment {
  msn: string;
  reference: string;
  pspReference: string;
  state: EPaymentState;
  amount: Amount;
  aggregate: Aggregate;
  paymentMethod: { type: 'WALLET' | 'CARD' };
  userFlow: string;
  returnUrl?: string;
  paymentDescription?: string;
  metadata?: Record<string, string> | null;
  customer?: Record<string, string>;
  /** The token in the landing page URL. */
  redirectToken: string;
  createdAt: string;
  events: EPaymentEvent[];
  /** Sandbox bookkeeping, not part of the API: when an abandoned payment expires. */
  sandbox: { expiresAt: string | null };
}

/** A control (customer) action that does not apply: 404 unknown reference, 409 wrong state. */
export class TransitionError extends SandboxRefusal {
  override readonly name = 'TransitionError';
  constructor(statusCode: 404 | 409, message: string) {
    super(statusCode, message);
  }
}

const AmountSchema = z.object({
  currency: z.enum(CURRENCIES, { message: 'must be NOK, DKK or EUR' }),
  value: z.number().int('must be an integer in minor units').positive('must be positive'),
});

/** `npm start`'s own API: an http return URL to it never leaves the machine. */
function isLoopbackHost(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/**
 * ePayment takes an https `returnUrl` or an app scheme (`myapp://…`) and refuses plain http. The
 * sandbox refuses http too, except to a loopback host (127.0.0.1, localhost, ::1), which is where
 * `npm start` sends the payer back; the real API would refuse that as well.
 */
function returnUrlProblem(value: string): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return undefined; // z.url() reports it
  }
  if (url.protocol !== 'http:') return undefined;
  return isLoopbackHost(url.hostname) ? undefined : 'must use https (or an app scheme); http is only allowed for loopback hosts in this sandbox';
}

/** The digits after the country code of a mobile number, per country Vipps MobilePay serves. */
const NATIONAL_DIGITS: readonly { prefix: string; country: string; digits: readonly number[] }[] = [
  { prefix: '47', country: 'Norwegian', digits: [8] },
  { prefix: '45', country: 'Danish', digits: [8] },
  { prefix: '358', country: 'Finnish', digits: [6, 7, 8, 9, 10] },
];

/** ePayment's `customer.phoneNumber`: an MSISDN, country code first, digits only (4712345678). */
function phoneNumberProblem(phone: string): string | undefined {
  if (!/^\d{9,15}$/.test(phone)) return 'must be an MSISDN: the country code and the number, 9-15 digits, without + or 00 (e.g. 4712345678)';
  const plan = NATIONAL_DIGITS.find((entry) => phone.startsWith(entry.prefix));
  if (plan && !plan.digits.includes(phone.length - plan.prefix.length)) return `is not a valid ${plan.country} mobile number`;
  return undefined;
}

const CreateSchema = z
  .object({
    amount: AmountSchema,
    paymentMethod: z.object({ type: z.enum(['WALLET', 'CARD']) }),
    reference: z.string().regex(/^[a-zA-Z0-9-]{8,64}$/, 'must be 8-64 characters of [a-zA-Z0-9-]'),
    returnUrl: z.url().optional(),
    userFlow: z.enum(['PUSH_MESSAGE', 'NATIVE_REDIRECT', 'WEB_REDIRECT', 'QR']),
    paymentDescription: z.string().max(100).optional(),
    customer: z
      .object({ phoneNumber: z.string().optional(), personalQr: z.string().optional(), customerToken: z.string().optional() })
      .optional(),
    metadata: z
      .record(z.string().max(100), z.string().max(500))
      .refine((value) => Object.keys(value).length <= 5, 'at most 5 entries')
      .nullish(),
  })
  .superRefine((body, ctx) => {
    const returnUrlIssue = body.returnUrl === undefined ? undefined : returnUrlProblem(body.returnUrl);
    if (returnUrlIssue) ctx.addIssue({ code: 'custom', path: ['returnUrl'], message: returnUrlIssue });
    const phoneIssue = body.customer?.phoneNumber === undefined ? undefined : phoneNumberProblem(body.customer.phoneNumber);
    if (phoneIssue) ctx.addIssue({ code: 'custom', path: ['customer', 'phoneNumber'], message: phoneIssue });
    if ((body.userFlow === 'WEB_REDIRECT' || body.userFlow === 'NATIVE_REDIRECT') && !body.returnUrl) {
      ctx.addIssue({ code: 'custom', path: ['returnUrl'], message: `is required when userFlow is ${body.userFlow}` });
    }
    if (body.userFlow === 'PUSH_MESSAGE' && !body.customer?.phoneNumber) {
      ctx.addIssue({ code: 'custom', path: ['customer'], message: 'a phoneNumber is required when userFlow is PUSH_MESSAGE' });
    }
    if (body.amount.currency === 'NOK' && body.amount.value < 100) {
      ctx.addIssue({ code: 'custom', path: ['amount', 'value'], message: 'the minimum amount is NOK 100 øre' });
    }
  });

const ModificationSchema = z.object({ modificationAmount: AmountSchema });
const CancelSchema = z.object({ cancelTransactionOnly: z.boolean().optional() });

function parse<T>(schema: z.ZodType<T>, body: unknown): T {
  const parsed = schema.safeParse(body ?? {});
  if (parsed.success) return parsed.data;
  const extraDetails = zodIssues(parsed.error).map((issue) => ({ name: issue.field, reason: issue.message }));
  throw validationProblem('The request body contains one or more validation errors.', extraDetails);
}

const money = (currency: Currency, value = 0): Amount => ({ currency, value });

export interface MobilePayStoreOptions {
  now?: () => number;
  onEvent?: (event: EPaymentEvent) => void;
}

/**
 * One entry of the settlement ledger (the Report API's `funds` topic): captures add to the balance,
 * refunds take from it. `ledgerDate` is the day the entry is booked (here: its UTC date).
 */
export interface LedgerEntry {
  pspReference: string;
  time: string;
  ledgerDate: string;
  entryType: 'capture' | 'refund';
  reference: string;
  currency: Currency;
  /** Signed minor units: a refund is negative. */
  amount: number;
  recipientHandle: string;
}

export class MobilePayStore {
  readonly payments = new Map<string, SandboxPayment>();
  /** The funds ledger, in booking order (`GET /report/v2/ledgers/{ledgerId}/funds/dates/{date}`). */
  readonly ledger: LedgerEntry[] = [];
  /** While seeding history: the clock entries are made at, and no events delivered. */
  #clockOverrideMs: number | undefined;
  #silent = false;
  counts = { created: 0, authorized: 0, aborted: 0, expired: 0, terminated: 0, captures: 0, cancels: 0, refunds: 0, events: 0 };
  readonly #now: () => number;
  readonly #onEvent: (event: EPaymentEvent) => void;

  constructor(options: MobilePayStoreOptions = {}) {
    const clock = options.now ?? Date.now;
    this.#now = () => this.#clockOverrideMs ?? clock();
    this.#onEvent = options.onEvent ?? (() => undefined);
  }

  /** Everything the ePayment API would still know after a restart (shared/persistence.ts). */
  snapshot(): unknown {
    return { payments: mapEntries(this.payments), ledger: this.ledger, counts: this.counts };
  }

  restore(state: unknown): void {
    const saved = (state ?? {}) as { payments?: unknown; ledger?: LedgerEntry[]; counts?: Partial<MobilePayStore['counts']> };
    refill(this.payments, saved.payments);
    this.ledger.splice(0, this.ledger.length, ...(saved.ledger ?? []));
    this.counts = { ...this.counts, ...saved.counts };
  }

  #key(msn: string, reference: string): string {
    return `${msn}/${reference}`;
  }

  #record(payment: SandboxPayment, name: EPaymentEventName, amount: Amount, idempotencyKey: string | null, pspReference = randomUUID()): void {
    const event: EPaymentEvent = {
      msn: payment.msn,
      reference: payment.reference,
      pspReference,
      name,
      amount: { ...amount },
      timestamp: new Date(this.#now()).toISOString(),
      idempotencyKey,
      success: true,
    };
    payment.events.push(event);
    this.counts.events += 1;
    if (name === 'CAPTURED' || name === 'REFUNDED') {
      this.ledger.push({
        pspReference,
        time: event.timestamp,
        ledgerDate: event.timestamp.slice(0, 10),
        entryType: name === 'CAPTURED' ? 'capture' : 'refund',
        reference: payment.reference,
        currency: amount.currency,
        amount: name === 'CAPTURED' ? amount.value : -amount.value,
        recipientHandle: `api:${payment.msn}`,
      });
    }
    if (!this.#silent) this.#onEvent(structuredClone(event));
  }

  /**
   * A payment that was created, authorized and captured in full at `createdMs`, with its ledger
   * entry, and no webhooks (it is history).
   */
  seedCapturedPayment(input: { msn: string; reference: string; amount: Amount; createdMs: number }): SandboxPayment {
    const previous = { clock: this.#clockOverrideMs, silent: this.#silent };
    this.#clockOverrideMs = input.createdMs;
    this.#silent = true;
    try {
      this.create(
        input.msn,
        { amount: input.amount, paymentMethod: { type: 'WALLET' }, reference: input.reference, userFlow: 'WEB_REDIRECT', returnUrl: 'https://example.invalid/return' },
        `seed-${input.reference}`,
      );
      this.authorize(input.reference);
      return this.capture(input.msn, input.reference, { modificationAmount: input.amount }, `seed-capture-${input.reference}`);
    } finally {
      this.#clockOverrideMs = previous.clock;
      this.#silent = previous.silent;
    }
  }

  /** The ledger entry of a payment's (latest) capture. */
  captureEntryOf(reference: string): LedgerEntry {
    const entry = this.ledger.findLast((candidate) => candidate.reference === reference && candidate.entryType === 'capture');
    if (!entry) throw new TransitionError(404, `No capture for '${reference}'`);
    return entry;
  }

  // ─── API ───────────────────────────────────────────────────────────────────────────────────

  create(msn: string, body: unknown, idempotencyKey: string): SandboxPayment {
    const input = parse(CreateSchema, body);
    const key = this.#key(msn, input.reference);
    if (this.payments.has(key)) throw referenceConflictProblem(input.reference);
    const pspReference = randomUUID();
    const payment: SandboxPayment = {
      msn,
      reference: input.reference,
      pspReference,
      state: 'CREATED',
      amount: { ...input.amount },
      aggregate: {
        authorizedAmount: money(input.amount.currency),
        cancelledAmount: money(input.amount.currency),
        capturedAmount: money(input.amount.currency),
        refundedAmount: money(input.amount.currency),
      },
      paymentMethod: { ...input.paymentMethod },
      userFlow: input.userFlow,
      returnUrl: input.returnUrl,
      paymentDescription: input.paymentDescription,
      metadata: input.metadata ?? undefined,
      customer: input.customer as Record<string, string> | undefined,
      redirectToken: randomToken(32),
      createdAt: new Date(this.#now()).toISOString(),
      events: [],
      sandbox: { expiresAt: null },
    };
    this.payments.set(key, payment);
    this.counts.created += 1;
    this.#record(payment, 'CREATED', payment.amount, idempotencyKey, pspReference);
    return payment;
  }

  get(msn: string, reference: string): SandboxPayment {
    const payment = this.payments.get(this.#key(msn, reference));
    if (!payment) throw notFoundProblem(reference);
    return payment;
  }

  capture(msn: string, reference: string, body: unknown, idempotencyKey: string): SandboxPayment {
    const payment = this.get(msn, reference);
    const { modificationAmount } = parse(ModificationSchema, body);
    if (payment.state !== 'AUTHORIZED') throw stateProblem(`Payment is ${payment.state}; only an AUTHORIZED payment can be captured`);
    this.#sameCurrency(payment, modificationAmount);
    const { authorizedAmount, capturedAmount, cancelledAmount } = payment.aggregate;
    const capturable = authorizedAmount.value - capturedAmount.value - cancelledAmount.value;
    if (modificationAmount.value > capturable) {
      throw validationProblem(`Capture amount ${modificationAmount.value} exceeds the capturable amount ${capturable}`, [
        { name: 'modificationAmount.value', reason: `must be at most ${capturable}` },
      ]);
    }
    capturedAmount.value += modificationAmount.value;
    this.counts.captures += 1;
    this.#record(payment, 'CAPTURED', modificationAmount, idempotencyKey);
    return payment;
  }

  cancel(msn: string, reference: string, body: unknown, idempotencyKey: string): SandboxPayment {
    const payment = this.get(msn, reference);
    const { cancelTransactionOnly } = parse(CancelSchema, body);
    if (payment.state === 'CREATED') {
      payment.state = 'TERMINATED';
      payment.aggregate.cancelledAmount.value = payment.amount.value;
      payment.sandbox.expiresAt = null;
      this.counts.terminated += 1;
      this.#record(payment, 'TERMINATED', payment.amount, idempotencyKey);
      return payment;
    }
    if (payment.state !== 'AUTHORIZED') throw stateProblem(`Payment is ${payment.state} and cannot be cancelled`);
    // Only an unauthorized payment is cancelled with this flag: the reservation stays.
    if (cancelTransactionOnly) return payment;
    const { authorizedAmount, capturedAmount, cancelledAmount } = payment.aggregate;
    const remaining = authorizedAmount.value - capturedAmount.value - cancelledAmount.value;
    if (remaining <= 0) throw stateProblem('Nothing is left to cancel: the payment is fully captured or already cancelled');
    cancelledAmount.value += remaining;
    this.counts.cancels += 1;
    this.#record(payment, 'CANCELLED', money(payment.amount.currency, remaining), idempotencyKey);
    return payment;
  }

  refund(msn: string, reference: string, body: unknown, idempotencyKey: string): SandboxPayment {
    const payment = this.get(msn, reference);
    const { modificationAmount } = parse(ModificationSchema, body);
    if (payment.state !== 'AUTHORIZED') throw stateProblem(`Payment is ${payment.state}; only a captured payment can be refunded`);
    this.#sameCurrency(payment, modificationAmount);
    const refundable = payment.aggregate.capturedAmount.value - payment.aggregate.refundedAmount.value;
    if (modificationAmount.value > refundable) {
      throw validationProblem(`Refund amount ${modificationAmount.value} exceeds the refundable amount ${refundable}`, [
        { name: 'modificationAmount.value', reason: `must be at most ${refundable} (captured minus refunded)` },
      ]);
    }
    payment.aggregate.refundedAmount.value += modificationAmount.value;
    this.counts.refunds += 1;
    this.#record(payment, 'REFUNDED', modificationAmount, idempotencyKey);
    return payment;
  }

  #sameCurrency(payment: SandboxPayment, amount: Amount): void {
    if (amount.currency !== payment.amount.currency) {
      throw validationProblem(`Currency ${amount.currency} does not match the payment currency ${payment.amount.currency}`, [
        { name: 'modificationAmount.currency', reason: `must be ${payment.amount.currency}` },
      ]);
    }
  }

  // ─── The customer (control routes) ─────────────────────────────────────────────────────────

  /** The payment with this reference (under any MSN), for the control routes. */
  find(reference: string): SandboxPayment {
    const found = [...this.payments.values()].filter((payment) => payment.reference === reference);
    if (found.length === 0) throw new TransitionError(404, `No payment with reference '${reference}'`);
    if (found.length > 1) throw new TransitionError(409, `Reference '${reference}' exists under several MSNs`);
    return found[0]!;
  }

  findByToken(token: string): SandboxPayment | undefined {
    return [...this.payments.values()].find((payment) => payment.redirectToken === token);
  }

  #awaitingUser(payment: SandboxPayment, action: string): void {
    if (payment.state !== 'CREATED') throw new TransitionError(409, `Payment '${payment.reference}' is ${payment.state}; the user can only ${action} a CREATED payment`);
  }

  /** The user approves in the app. */
  authorize(reference: string): SandboxPayment {
    const payment = this.find(reference);
    this.#awaitingUser(payment, 'authorize');
    payment.state = 'AUTHORIZED';
    payment.aggregate.authorizedAmount.value = payment.amount.value;
    payment.sandbox.expiresAt = null;
    this.counts.authorized += 1;
    this.#record(payment, 'AUTHORIZED', payment.amount, null);
    return payment;
  }

  /** The user cancels in the app. */
  abort(reference: string): SandboxPayment {
    const payment = this.find(reference);
    this.#awaitingUser(payment, 'abort');
    payment.state = 'ABORTED';
    payment.sandbox.expiresAt = null;
    this.counts.aborted += 1;
    this.#record(payment, 'ABORTED', payment.amount, null);
    return payment;
  }

  /** Marks an abandoned payment to expire at `at` (the sandbox's timer calls expire then). */
  markAbandoned(reference: string, at: number): SandboxPayment {
    const payment = this.find(reference);
    this.#awaitingUser(payment, 'abandon');
    payment.sandbox.expiresAt = new Date(at).toISOString();
    return payment;
  }

  /** The user never acted: the payment expires (a no-op once it left CREATED). */
  expire(reference: string): SandboxPayment {
    const payment = this.find(reference);
    if (payment.state !== 'CREATED') return payment;
    payment.state = 'EXPIRED';
    payment.sandbox.expiresAt = null;
    this.counts.expired += 1;
    this.#record(payment, 'EXPIRED', payment.amount, null);
    return payment;
  }

  reset(): void {
    this.payments.clear();
    this.ledger.length = 0;
    for (const key of Object.keys(this.counts) as (keyof typeof this.counts)[]) this.counts[key] = 0;
  }
}

/** `GET /epayment/v1/payments/{reference}` */
export function paymentView(payment: SandboxPayment, landingUrl: string) {
  return {
    aggregate: structuredClone(payment.aggregate),
    amount: { ...payment.amount },
    state: payment.state,
    paymentMethod: { ...payment.paymentMethod },
    profile: {},
    pspReference: payment.pspReference,
    ...(payment.state === 'CREATED' ? { redirectUrl: landingUrl } : {}),
    reference: payment.reference,
    ...(payment.metadata ? { metadata: { ...payment.metadata } } : {}),
  };
}

/** The answer of capture, cancel and refund. */
export function modificationView(payment: SandboxPayment) {
  return {
    amount: { ...payment.amount },
    state: payment.state,
    aggregate: structuredClone(payment.aggregate),
    pspReference: payment.pspReference,
    reference: payment.reference,
  };
}
