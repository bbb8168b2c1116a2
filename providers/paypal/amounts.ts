// Money on PayPal's wire: a decimal string in the currency's major unit ("1250.00" SEK, "500" JPY).
// Skerry keeps integer minor units; the exponent comes from PayPal's own currency table, which
// differs from ISO 4217 for HUF and TWD (PayPal refuses decimals for them).

/** Currencies PayPal accepts for payments, with the number of decimals PayPal allows. */
export const PAYPAL_CURRENCY_DECIMALS: Readonly<Record<string, number>> = Object.freeze({
  AUD: 2, BRL: 2, CAD: 2, CNY: 2, CZK: 2, DKK: 2, EUR: 2, HKD: 2, HUF: 0, ILS: 2, JPY: 0, MYR: 2, MXN: 2,
  TWD: 0, NZD: 2, NOK: 2, PHP: 2, PLN: 2, GBP: 2, RUB: 2, SGD: 2, SEK: 2, CHF: 2, THB: 2, USD: 2,
});

export class AmountError extends Error {
  override readonly name = 'AmountError';
}

export function currencyDecimals(currency: string): number {
  const decimals = PAYPAL_CURRENCY_DECIMALS[currency.toUpperCase()];
  if (decimals === undefined) throw new AmountError(`currency ${currency} is not supported by PayPal`);
  return decimals;
}

/** 125000 SEK → "1250.00"; 500 JPY → "500". */
export function toPayPalValue(minor: number, currency: string): string {
  if (!Number.isSafeInteger(minor) || minor < 0) throw new AmountError(`amount must be a non-negative integer in minor units, got ${minor}`);
  const decimals = currencyDecimals(currency);
  if (decimals === 0) return String(minor);
  const digits = String(minor).padStart(decimals + 1, '0');
  return `${digits.slice(0, -decimals)}.${digits.slice(-decimals)}`;
}

/** "1250.00" SEK → 125000; "1250.5" → 125050; "500" JPY → 500. Exact, no floating point. */
export function fromPayPalValue(value: string, currency: string): number {
  const decimals = currencyDecimals(currency);
  const match = /^(\d+)(?:\.(\d+))?$/.exec(value.trim());
  if (!match) throw new AmountError(`"${value}" is not a PayPal amount`);
  const whole = match[1]!;
  const fraction = match[2] ?? '';
  if (fraction.length > decimals && /[^0]/.test(fraction.slice(decimals))) {
    throw new AmountError(`"${value}" has more than ${decimals} decimals for ${currency}`);
  }
  const minor = Number(whole + fraction.slice(0, decimals).padEnd(decimals, '0'));
  if (!Number.isSafeInteger(minor)) throw new AmountError(`"${value}" is too large`);
  return minor;
}

export function paypalMoney(minor: number, currency: string): { currency_code: string; value: string } {
  return { currency_code: currency.toUpperCase(), value: toPayPalValue(minor, currency) };
}
