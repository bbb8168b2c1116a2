// Seeded pseudo-random numbers, so a fault scenario replays identically for a given seed.
import { randomInt } from 'node:crypto';

/** Returns a number in [0, 1), like Math.random. */
export type Random = () => number;

/** mulberry32: tiny, fast, good enough for choosing which request gets a fault. */
export function createPrng(seed: number): Random {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

export function randomSeed(): number {
  return randomInt(0, 2 ** 31);
}
