export interface Money {
  /** Integer amount in the currency's minor unit (öre, cents). */
  value: number;
  currency: string;
}
